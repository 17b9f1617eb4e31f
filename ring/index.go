package ring

import "sort"

// MaxIndex is the number of accepted messages whose ts the history index keeps: within it a
// window's Dropped is exact.
const MaxIndex = 65536

// tsIndex is the ts of every accepted message by seq, for the last MaxIndex messages. It grows
// on demand (from 64 entries, doubling) so that a quiet room stays small: 512 bytes until it
// has had 64 messages, 512 KiB at most.
type tsIndex struct {
	ts       []int64 // ring buffer; ts of seq s is at (s - 1) % len(ts) while indexed
	firstSeq uint64  // oldest indexed seq; the index holds firstSeq .. lastSeq
	lastSeq  uint64  // newest indexed seq (firstSeq-1 when empty)
}

func (x *tsIndex) len() int { return int(x.lastSeq + 1 - x.firstSeq) }

func (x *tsIndex) at(seq uint64) int64 { return x.ts[(seq-1)%uint64(len(x.ts))] }

// add records the ts of seq, which must be lastSeq+1.
func (x *tsIndex) add(seq uint64, ts int64) {
	n := x.len()
	if n == len(x.ts) {
		if len(x.ts) < MaxIndex {
			x.grow(min(max(2*len(x.ts), 64), MaxIndex))
		} else {
			x.firstSeq++ // overwrite the oldest
		}
	}
	x.lastSeq = seq
	x.ts[(seq-1)%uint64(len(x.ts))] = ts
}

// grow moves the indexed ts into a buffer of size entries (size >= len()).
func (x *tsIndex) grow(size int) {
	buf := make([]int64, size)
	for s := x.firstSeq; s <= x.lastSeq; s++ {
		buf[(s-1)%uint64(size)] = x.at(s)
	}
	x.ts = buf
}

// reset makes the index empty, continuing after lastSeq.
func (x *tsIndex) reset(lastSeq uint64) {
	x.firstSeq, x.lastSeq = lastSeq+1, lastSeq
	x.ts = x.ts[:0:0]
}

// base returns the seq of the newest message with ts <= since. It is exact while since is
// within the index (since >= the ts of the oldest indexed message). A since older than that
// gets the seq just before the oldest indexed one: exact when the oldest indexed seq is 1 or
// the index never wrapped, else an approximation. That is the horizon of Dropped: a since
// older than the last 65,536 messages counts dropped from the oldest indexed message.
func (x *tsIndex) base(since int64) uint64 {
	n := x.len()
	// i = number of indexed messages with ts <= since (ts increases with seq).
	i := sort.Search(n, func(i int) bool { return x.at(x.firstSeq+uint64(i)) > since })
	return x.firstSeq - 1 + uint64(i)
}

// export copies the indexed ts, oldest first.
func (x *tsIndex) export() (firstSeq uint64, ts []int64) {
	out := make([]int64, x.len())
	for i := range out {
		out[i] = x.at(x.firstSeq + uint64(i))
	}
	return x.firstSeq, out
}

// tsOf returns the ts of seq if the index holds it.
func (x *tsIndex) tsOf(seq uint64) (int64, bool) {
	if seq < x.firstSeq || seq > x.lastSeq {
		return 0, false
	}
	return x.at(seq), true
}

// exactBase returns base(since) and whether it is exact: since is at or after the oldest
// indexed message, or the index holds the room's history from seq 1.
func (x *tsIndex) exactBase(since int64) (uint64, bool) {
	exact := x.firstSeq == 1 || (x.len() > 0 && since >= x.at(x.firstSeq))
	return x.base(since), exact
}
