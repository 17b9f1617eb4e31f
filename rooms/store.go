package rooms

import (
	"context"
	"time"
)

// Head is a room's last stamp.
type Head struct {
	Epoch   string `json:"epoch"`
	LastTS  int64  `json:"last_ts"`
	LastSeq uint64 `json:"last_seq"`
}

// apply moves st's last stamp forward to h when h belongs to st's history.
func (h Head) apply(st *State) {
	if h.Epoch == st.Epoch && h.LastSeq > st.LastSeq {
		st.LastTS, st.LastSeq = h.LastTS, h.LastSeq
	}
}

// Store keeps rooms' durable state. Implementations are safe for concurrent use.
type Store interface {
	// LoadRoom returns the room's state; found is false for a room never saved.
	LoadRoom(ctx context.Context, room string) (st State, found bool, err error)
	// SaveRoom replaces the room's state.
	SaveRoom(ctx context.Context, room string, st State) error
	// SaveHead records the room's last stamp (written once per flush tick, before the stamped
	// messages are acknowledged or delivered). LoadRoom returns it in LastTS/LastSeq when it is
	// newer than the state's and of the same epoch.
	SaveHead(ctx context.Context, room string, h Head) error
	// MarkActive records that a room's grain is active somewhere (true) or passivated (false).
	MarkActive(ctx context.Context, room string, active bool) error
	// ActiveRooms lists the rooms marked active (a node that crashed leaves its rooms listed
	// until they re-activate elsewhere and passivate).
	ActiveRooms(ctx context.Context) ([]string, error)
	// Heartbeat records that node is alive and reachable at ws (its public WebSocket URL).
	Heartbeat(ctx context.Context, node, ws string, now time.Time) error
	// Nodes returns the nodes whose last heartbeat is newer than since, name -> ws URL.
	Nodes(ctx context.Context, since time.Time) (map[string]string, error)
	// AttachSession records session id of uid, connected at, in the uid directory and returns
	// all of uid's sessions there, oldest first. The uid's entries may expire ttl after its
	// last attach (a node that dies cannot detach its sessions).
	AttachSession(ctx context.Context, uid, id string, at time.Time, ttl time.Duration) ([]DirEntry, error)
	// DetachSessions removes sessions of uid from the uid directory (unknown ids are ignored).
	DetachSessions(ctx context.Context, uid string, ids ...string) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
