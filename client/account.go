package client

// account is one room's position and seq accounting (PROTOCOL.md sections 1 and 4). It is
// plain state owned by the Viewer's Run goroutine.
//
// since is the next of the last window: the since of the next pull and of a rejoin. Within an
// epoch seq is gapless, so over the windows pulled len(msgs)+dropped adds up to the seq
// advance; a window where it does not is a gap (messages neither delivered nor counted as
// dropped). Each window says the seq at its end (next_seq, PROTOCOL.md section 8.1): base is
// the last such seq, and every window is checked against it (so one wrong window is one gap).
// A window without next_seq (a v1 server) is checked where its last message sits at next,
// with counted the len(msgs)+dropped of the windows since base. A new epoch means the room's history restarted
// at seq 1: the accounting starts over at 0, and since stays valid (ts keeps increasing).
type account struct {
	started bool // joined at least once
	epoch   string
	since   int64
	base    uint64 // a seq at a window end
	counted uint64 // len(msgs)+dropped since base
}

// joined records a join reply and reports whether the epoch changed. fromStart means the
// first join was sent with since = 0 (the window then starts at seq 0); a first join without
// since starts at the room's latest ts and seq.
func (a *account) joined(j Joined, fromStart bool) (epochChanged bool) {
	switch {
	case !a.started:
		a.started, a.epoch, a.counted = true, j.Epoch, 0
		a.since, a.base = j.TS, j.Seq
		if fromStart {
			a.since, a.base = 0, 0
		}
	case j.Epoch != a.epoch:
		a.newEpoch(j.Epoch)
		return true
	}
	return false
}

func (a *account) newEpoch(e string) {
	a.epoch, a.base, a.counted = e, 0, 0
}

// window accounts the reply m to a pull sent with since = a.since and advances a.since.
func (a *account) window(m *Msgs) (epochChanged, gap bool) {
	if m.Epoch != "" && m.Epoch != a.epoch {
		a.newEpoch(m.Epoch)
		epochChanged = true
	}
	a.counted += uint64(len(m.Msgs)) + m.Dropped
	if m.NextSeq > 0 {
		gap = m.NextSeq != a.base+a.counted
		a.base, a.counted = m.NextSeq, 0
	} else if n := len(m.Msgs); n > 0 && m.Msgs[n-1].TS == m.Next {
		last := m.Msgs[n-1].Seq
		gap = last != a.base+a.counted
		a.base, a.counted = last, 0
	}
	if m.Next > a.since {
		a.since = m.Next
	}
	return epochChanged, gap
}
