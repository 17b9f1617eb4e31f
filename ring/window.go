package ring

import "github.com/liveroom/liveroom/wire"

// Window is the answer to a pull (PROTOCOL.md section 4): the messages of (since, Next]
// that fit the limit, in ascending ts order, and how many of that range were left out.
type Window struct {
	Msgs    []*Message // ascending ts; shared, read-only
	Dropped uint64     // messages with since < ts <= Next not in Msgs (skipped or evicted)
	Next    int64      // the ts to send as since next time
	NextSeq uint64     // the seq of the message at Next (the newest with ts <= Next; 0: none)
	More    bool       // protected messages alone exceeded the limit; pull again at once
}

// Encode builds the window's wire encoding in buf's storage (what buf holds is dropped) from
// each message's own encoding.
func (w *Window) Encode(buf []byte) wire.Window {
	e := wire.StartWindow(buf)
	for _, m := range w.Msgs {
		e.Msg(m.Encode())
	}
	return e.End(w.Dropped, w.Next, w.NextSeq, w.More)
}
