package client

// account checks one room's pulls against PROTOCOL.md sections 1 and 4: within an epoch seq
// is gapless, so over the windows a viewer pulls, len(msgs)+dropped adds up to the seq advance.
// It is plain state owned by the Viewer's Run goroutine.
//
// The check: base is a seq known to sit at some earlier window end, counted the
// len(msgs)+dropped of the windows since. When a window's last message is at its next (the
// common case), that message's seq must be base+counted; then it becomes the new base, so one
// wrong window is counted once. Every message of a window must also fall in the window's seq
// range. When the epoch changes, the room's history restarted at seq 1 and every message of
// the new epoch is newer than any since the viewer holds, so base is 0.
type account struct {
	epoch     string
	baseKnown bool
	base      uint64 // a seq at a window end
	counted   uint64 // len(msgs)+dropped since base
	hiSeq     uint64 // highest seq seen in this epoch
	since     int64  // next of the last window: the since of the next pull
	started   bool   // joined at least once
}

// windowCheck is what one window showed.
type windowCheck struct {
	epochChanged bool
	accountErr   bool // len(msgs)+dropped does not match the seq advance
	orderErr     bool // ts/seq out of order, outside the window, or next going backwards
}

// joined records a join reply. fromStart means the join was sent with since = 0 on a room
// this account had never joined (the window then starts at seq 0). A first join without
// since starts at the room's latest ts and seq.
func (a *account) joined(j Joined, fromStart bool) (epochChanged bool) {
	switch {
	case !a.started:
		a.started = true
		a.epoch = j.Epoch
		a.baseKnown = true
		a.counted = 0
		if fromStart {
			a.base, a.since, a.hiSeq = 0, 0, 0
		} else {
			a.base, a.since, a.hiSeq = j.Seq, j.TS, j.Seq
		}
	case j.Epoch != a.epoch:
		a.newEpoch(j.Epoch)
		return true
	}
	return false
}

func (a *account) newEpoch(e string) {
	a.epoch = e
	a.baseKnown = true
	a.base, a.counted, a.hiSeq = 0, 0, 0
}

// window checks the reply m to a pull sent with since = a.since and advances a.since.
func (a *account) window(m *Msgs) windowCheck {
	var wc windowCheck
	if m.Epoch != "" && m.Epoch != a.epoch {
		a.newEpoch(m.Epoch)
		wc.epochChanged = true
	}
	since := a.since
	if m.Next < since {
		wc.orderErr = true
	}
	startSeq := a.base + a.counted // the seq just before this window, when baseKnown
	width := uint64(len(m.Msgs)) + m.Dropped
	prevTS, prevSeq := since, a.hiSeq
	for i := range m.Msgs {
		msg := &m.Msgs[i]
		if msg.TS <= prevTS || msg.TS > m.Next || msg.Seq <= prevSeq {
			wc.orderErr = true
		}
		if a.baseKnown && (msg.Seq <= startSeq || msg.Seq > startSeq+width) {
			wc.accountErr = true
		}
		if msg.TS > prevTS {
			prevTS = msg.TS
		}
		if msg.Seq > prevSeq {
			prevSeq = msg.Seq
		}
	}
	a.hiSeq = prevSeq
	a.counted += width
	if n := len(m.Msgs); n > 0 && m.Msgs[n-1].TS == m.Next {
		last := m.Msgs[n-1].Seq
		if a.baseKnown && last != a.base+a.counted {
			wc.accountErr = true
		}
		a.base, a.counted, a.baseKnown = last, 0, true
	}
	if m.Next > a.since {
		a.since = m.Next
	}
	return wc
}
