// Package ring holds a room's messages: one bounded ring per priority (Ring, its slice allocated
// on the first message and grown by use up to the capacity), a history index of ts by seq, and
// the pull window of PROTOCOL.md section 4 (Set.Window). Message.Encode and Window.Encode build
// their wire encodings through package wire.
//
// Concurrency contract: a Set is not safe for concurrent use. Its owner (the room grain or a
// RoomReplica) wraps it in a sync.RWMutex: Append, Resize, Import and Reset under the write
// lock; Window, Snapshot, Protected and the getters under the read lock. Messages are
// immutable once appended: the pointers are shared between the rings, windows, snapshots and
// every reader, and Message.Encoded is built once, before the message is shared.
//
// Exactness of dropped: a window's Dropped is computed from seq numbers (seq is gapless): the
// window (since, Next] holds seq(Next) - base(since) seq values, where base(since) is the seq
// of the newest accepted message with ts <= since (0 for since = 0). base comes from the
// history index, the ts of the last MaxIndex (65,536) accepted messages, which grows on demand
// so that a quiet room stays small. It is exact while since is within the index; a since
// older than the last 65,536 messages counts dropped from the oldest indexed message. After an
// Import with an empty index (a restarted room keeps only its protected messages) the same
// rule applies: a since older than the restart counts from the restart, bounded below by the
// retained messages, so len(Msgs)+Dropped never falls short of what the window returns.
package ring
