// Package ring holds a room's messages: one fixed-capacity ring per priority, a history index
// of ts by seq, and the pull window of PROTOCOL.md section 4.
//
// Concurrency contract: a Set is not safe for concurrent use. Its owner (the room grain or a
// RoomReplica) wraps it in a sync.RWMutex: Append, Resize, Import and Reset under the write
// lock, Window and the getters under the read lock. Messages are immutable once appended; the
// pointers are shared between the rings, windows and every reader.
//
// Exactness of dropped: a window's Dropped is computed from seq numbers (seq is gapless), so it
// is exact whenever the base of the window, the newest message with ts <= since, is within
// the history index: the ts of the last MaxIndex (65,536) accepted messages. A since older than
// that counts dropped from the oldest indexed message.
package ring
