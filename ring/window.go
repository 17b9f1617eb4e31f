package ring

// Window is the answer to a pull (PROTOCOL.md section 4): the messages of (since, Next]
// that fit the limit, in ascending ts order, and how many of that range were left out.
type Window struct {
	Msgs    []*Message // ascending ts; shared, read-only
	Dropped uint64     // messages with since < ts <= Next not in Msgs (skipped or evicted)
	Next    int64      // the ts to send as since next time
	More    bool       // protected messages alone exceeded the limit; pull again at once
}
