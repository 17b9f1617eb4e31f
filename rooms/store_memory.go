package rooms

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// MemoryStore is the in-memory Store: the embedded default. Nothing survives a restart.
// States are kept as JSON, so neither a saved nor a loaded State aliases what the store holds.
// A room's entry is forgotten Retention after its last save (read from the clock: expired
// entries are dropped when read and by a sweep every 1,024 writes).
type MemoryStore struct {
	mu        sync.Mutex
	retention time.Duration
	rooms     map[string]*memRoom
	writes    int
	active    map[string]bool
	nodes     map[string]nodeBeat
	uids      map[string]map[string]int64 // uid directory: uid -> session id -> connect micros
	bans      map[string]time.Time        // global bans: uid -> until (zero: forever); store_bans.go
}

// memRoom is one room's saved state, head and claim.
type memRoom struct {
	state    []byte // JSON; nil until the first SaveRoom
	head     Head
	hasHead  bool
	fence    uint64
	expires  time.Time
	first    uint64  // seq of idx[0]
	idx      []int64 // the stored history index
	counters Counters
}

type nodeBeat struct {
	NodeAddr
	Seen int64 `json:"seen"` // unix nanos
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts ...StoreOptions) *MemoryStore {
	var o StoreOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return &MemoryStore{retention: o.retention(), rooms: make(map[string]*memRoom), active: make(map[string]bool),
		nodes: make(map[string]nodeBeat), uids: make(map[string]map[string]int64)}
}

// room returns the live entry of room (nil if none or expired); the caller holds s.mu.
func (s *MemoryStore) room(room string, now time.Time) *memRoom {
	r := s.rooms[room]
	if r != nil && now.After(r.expires) {
		delete(s.rooms, room)
		return nil
	}
	return r
}

// write returns room's entry for a write with fence, created if needed and its expiry renewed;
// ErrFenced if a newer claim exists. The caller holds s.mu.
func (s *MemoryStore) write(room string, fence uint64, now time.Time) (*memRoom, error) {
	if s.writes++; s.writes%1024 == 0 {
		for id, r := range s.rooms {
			if now.After(r.expires) {
				delete(s.rooms, id)
			}
		}
	}
	r := s.room(room, now)
	if r == nil {
		r = &memRoom{}
		s.rooms[room] = r
	}
	if fence < r.fence {
		return nil, ErrFenced
	}
	r.expires = now.Add(s.retention)
	return r, nil
}

// Heartbeat implements Store.
func (s *MemoryStore) Heartbeat(_ context.Context, node string, at NodeAddr, now time.Time) error {
	s.mu.Lock()
	s.nodes[node] = nodeBeat{NodeAddr: at, Seen: now.UnixNano()}
	s.mu.Unlock()
	return nil
}

// Nodes implements Store.
func (s *MemoryStore) Nodes(_ context.Context, since time.Time) (map[string]NodeAddr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]NodeAddr{}
	for n, b := range s.nodes {
		if b.Seen > since.UnixNano() {
			out[n] = b.NodeAddr
		}
	}
	return out, nil
}

// MarkActive implements Store.
func (s *MemoryStore) MarkActive(_ context.Context, room string, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if active {
		s.active[room] = true
	} else {
		delete(s.active, room)
	}
	return nil
}

// ActiveRooms implements Store.
func (s *MemoryStore) ActiveRooms(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.active))
	for r := range s.active {
		out = append(out, r)
	}
	sort.Strings(out)
	return out, nil
}

// SaveHead implements Store.
func (s *MemoryStore) SaveHead(_ context.Context, room string, h Head, fence uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.write(room, fence, time.Now())
	if err != nil {
		return err
	}
	r.head, r.hasHead = h, true
	r.first, r.idx = appendIndex(r.first, r.idx, h.Index)
	return nil
}

// LoadRoom implements Store.
func (s *MemoryStore) LoadRoom(_ context.Context, room string) (State, bool, uint64, error) {
	now := time.Now()
	s.mu.Lock()
	r := s.room(room, now)
	if r == nil {
		r = &memRoom{expires: now.Add(s.retention)}
		s.rooms[room] = r
	}
	r.fence++ // a claim does not renew the retention: only saves do
	b, h, hok, fence := r.state, r.head, r.hasHead, r.fence
	first, idx := r.first, append([]int64(nil), r.idx...)
	counters := r.counters.Clone()
	s.mu.Unlock()
	var st State
	if b == nil {
		st.Counters = counters
		return st, false, fence, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fence, err
	}
	st.Counters = counters
	if hok {
		h.apply(&st)
	}
	loadedIndex(&st, first, idx)
	return st, true, fence, nil
}

// SaveRoom implements Store.
func (s *MemoryStore) SaveRoom(_ context.Context, room string, st State, fence uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.write(room, fence, time.Now())
	if err != nil {
		return err
	}
	r.state = b
	r.first, r.idx = appendIndex(r.first, r.idx, st.Index)
	return nil
}

// SaveCounters implements Store.
func (s *MemoryStore) SaveCounters(_ context.Context, room string, values Counters, fence uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.write(room, fence, time.Now())
	if err != nil {
		return err
	}
	if r.counters == nil {
		r.counters = make(Counters, len(values))
	}
	for k, v := range values {
		r.counters[k] = v
	}
	return nil
}

// DeleteRoom implements Store.
func (s *MemoryStore) DeleteRoom(_ context.Context, room string, fence uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.room(room, time.Now()); r != nil {
		if fence < r.fence {
			return ErrFenced
		}
		delete(s.rooms, room)
	}
	return nil
}

// CheckFence implements Store.
func (s *MemoryStore) CheckFence(_ context.Context, room string, fence uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.room(room, time.Now()); r != nil && fence < r.fence {
		return ErrFenced
	}
	return nil
}

// Rooms returns how many rooms the store holds an entry for (state, head or claim).
func (s *MemoryStore) Rooms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rooms)
}

// Ping implements Store.
func (s *MemoryStore) Ping(context.Context) error { return nil }

// Close implements Store.
func (s *MemoryStore) Close() error { return nil }
