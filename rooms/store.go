package rooms

import (
	"context"
	"errors"
	"time"
)

// ErrFenced is a save refused because a newer activation of the room has claimed it (LoadRoom):
// the caller's activation is stale (its node was frozen or cut off while the room moved) and
// must stop without delivering anything it has not saved.
var ErrFenced = errors.New("store: the room was claimed by a newer activation")

// DefaultRetention is how long a room's saved state outlives its last save.
const DefaultRetention = 30 * 24 * time.Hour

// StoreOptions configure a store; the zero value takes the defaults.
type StoreOptions struct {
	// Retention: a room's saved state (and its claim) is forgotten this long after its last
	// save, so rooms that are never used again do not stay forever. Default DefaultRetention.
	Retention time.Duration
}

func (o StoreOptions) retention() time.Duration {
	if o.Retention <= 0 {
		return DefaultRetention
	}
	return o.Retention
}

// Head is a room's last stamp, and the stamps' ts to add to the stored history index.
type Head struct {
	Epoch   string `json:"epoch"`
	LastTS  int64  `json:"last_ts"`
	LastSeq uint64 `json:"last_seq"`
	Index   Index  `json:"-"`
}

// Index is a run of a room's history index: the ts of the consecutive seqs From, From+1, ...
// A save appends it to the stored index (the last StoredIndex entries), which starts over when
// the run does not follow what is stored (a new epoch). A room that moves or restarts gets the
// stored index back with its state, so that a pull's dropped stays exact across the move for a
// since within the stored history (ring.Set's exactness, PROTOCOL.md section 4).
type Index struct {
	From uint64
	TS   []int64
}

// StoredIndex is how many of a room's latest stamps the store keeps the ts of.
const StoredIndex = 16384

// apply moves st's last stamp forward to h when h belongs to st's history.
func (h Head) apply(st *State) {
	if h.Epoch == st.Epoch && h.LastSeq > st.LastSeq {
		st.LastTS, st.LastSeq = h.LastTS, h.LastSeq
	}
}

// appendIndex appends run to the stored index (first: seq of idx[0]) and keeps the last
// StoredIndex entries. A run that overlaps the index's end replaces the overlap (a save built
// before the one that landed last: the older history stays); one that starts at or before the
// index's first seq, or after its end, starts the index over.
func appendIndex(first uint64, idx []int64, run Index) (uint64, []int64) {
	if len(run.TS) == 0 {
		return first, idx
	}
	if len(idx) == 0 || run.From <= first || run.From > first+uint64(len(idx)) {
		first, idx = run.From, idx[:0]
	} else {
		idx = idx[:run.From-first]
	}
	idx = append(idx, run.TS...)
	if over := len(idx) - StoredIndex; over > 0 {
		idx = append(idx[:0:0], idx[over:]...)
		first += uint64(over)
	}
	return first, idx
}

// loadedIndex is the stored index as LoadRoom returns it: the run ending at st.LastSeq with
// st.LastTS, or none when the stored one does not (a state saved before the index existed).
func loadedIndex(st *State, first uint64, idx []int64) {
	n := uint64(len(idx))
	if n == 0 || first+n-1 != st.LastSeq || idx[n-1] != st.LastTS {
		st.Index = Index{}
		return
	}
	st.Index = Index{From: first, TS: idx}
}

// Store keeps rooms' durable state. Implementations are safe for concurrent use.
//
// Fencing: every activation of a room claims it when it loads it (LoadRoom returns a fence
// larger than every earlier one), and passes its fence to every write; a write with an older
// fence than the room's latest claim fails with ErrFenced. So of two activations of one room
// (a node frozen while the room moved to another one, then resumed), only the newest can save,
// and since stamps are delivered only once saved, only it can deliver.
type Store interface {
	// LoadRoom returns the room's state (found is false for a room never saved) and claims the
	// room: fence is larger than every earlier claim.
	LoadRoom(ctx context.Context, room string) (st State, found bool, fence uint64, err error)
	// SaveRoom replaces the room's state and appends st.Index to the stored index, unless a
	// newer claim than fence exists (ErrFenced). LoadRoom returns the stored index in
	// st.Index (ending at LastSeq when it is kept whole).
	SaveRoom(ctx context.Context, room string, st State, fence uint64) error
	// SaveHead records the room's last stamp (written once per flush tick, before the stamped
	// messages are acknowledged or delivered). LoadRoom returns it in LastTS/LastSeq when it is
	// newer than the state's and of the same epoch. ErrFenced as for SaveRoom.
	SaveHead(ctx context.Context, room string, h Head, fence uint64) error
	// DeleteRoom forgets the room's state and claim (a room with nothing worth keeping);
	// ErrFenced as for SaveRoom.
	DeleteRoom(ctx context.Context, room string, fence uint64) error
	// SaveCounters writes the given counters' totals (absolute values, so a write retried after
	// a timeout cannot count twice) unless a newer claim than fence exists (ErrFenced).
	SaveCounters(ctx context.Context, room string, values Counters, fence uint64) error
	// CheckFence reports ErrFenced if the room was claimed after fence.
	CheckFence(ctx context.Context, room string, fence uint64) error
	// MarkActive records that a room's grain is active somewhere (true) or passivated (false).
	MarkActive(ctx context.Context, room string, active bool) error
	// ActiveRooms lists the rooms marked active (a node that crashed leaves its rooms listed
	// until they re-activate elsewhere and passivate).
	ActiveRooms(ctx context.Context) ([]string, error)
	// Heartbeat records that node is alive, with where it is reached.
	Heartbeat(ctx context.Context, node string, at NodeAddr, now time.Time) error
	// Nodes returns the nodes whose last heartbeat is newer than since, by name.
	Nodes(ctx context.Context, since time.Time) (map[string]NodeAddr, error)
	// AttachSession records session id of uid, connected at, in the uid directory and returns
	// all of uid's sessions there, oldest first. The uid's entries may expire ttl after its
	// last attach (a node that dies cannot detach its sessions).
	AttachSession(ctx context.Context, uid, id string, at time.Time, ttl time.Duration) ([]DirEntry, error)
	// DetachSessions removes sessions of uid from the uid directory (unknown ids are ignored).
	DetachSessions(ctx context.Context, uid string, ids ...string) error
	// SetGlobalBan bans uid from every room until until (zero: forever), replacing an earlier
	// ban of uid.
	SetGlobalBan(ctx context.Context, uid string, until time.Time) error
	// LiftGlobalBan removes uid's global ban (none is not an error).
	LiftGlobalBan(ctx context.Context, uid string) error
	// GlobalBans returns the global bans in force, by uid.
	GlobalBans(ctx context.Context) ([]GlobalBan, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// NodeAddr is where a node of the directory is reached: its public WebSocket URL (empty for a
// node that takes no viewers: Route skips it) and its actor address (host:port, for the
// users router that kicks and bans sessions on every node, edges included).
type NodeAddr struct {
	WS    string `json:"ws"`
	Actor string `json:"actor,omitempty"`
}
