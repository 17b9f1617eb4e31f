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
type MemoryStore struct {
	mu     sync.Mutex
	rooms  map[string][]byte // JSON
	heads  map[string]Head
	active map[string]bool
	nodes  map[string]nodeBeat
	uids   map[string]map[string]int64 // uid directory: uid -> session id -> connect micros
}

type nodeBeat struct {
	WS   string `json:"ws"`
	Seen int64  `json:"seen"` // unix nanos
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{rooms: make(map[string][]byte), heads: make(map[string]Head), active: make(map[string]bool),
		nodes: make(map[string]nodeBeat), uids: make(map[string]map[string]int64)}
}

// Heartbeat implements Store.
func (s *MemoryStore) Heartbeat(_ context.Context, node, ws string, now time.Time) error {
	s.mu.Lock()
	s.nodes[node] = nodeBeat{WS: ws, Seen: now.UnixNano()}
	s.mu.Unlock()
	return nil
}

// Nodes implements Store.
func (s *MemoryStore) Nodes(_ context.Context, since time.Time) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for n, b := range s.nodes {
		if b.Seen > since.UnixNano() {
			out[n] = b.WS
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
func (s *MemoryStore) SaveHead(_ context.Context, room string, h Head) error {
	s.mu.Lock()
	s.heads[room] = h
	s.mu.Unlock()
	return nil
}

// LoadRoom implements Store.
func (s *MemoryStore) LoadRoom(_ context.Context, room string) (State, bool, error) {
	s.mu.Lock()
	b, ok := s.rooms[room]
	h, hok := s.heads[room]
	s.mu.Unlock()
	var st State
	if !ok {
		return st, false, nil
	}
	err := json.Unmarshal(b, &st)
	if hok {
		h.apply(&st)
	}
	return st, err == nil, err
}

// SaveRoom implements Store.
func (s *MemoryStore) SaveRoom(_ context.Context, room string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.rooms[room] = b
	s.mu.Unlock()
	return nil
}

// Ping implements Store.
func (s *MemoryStore) Ping(context.Context) error { return nil }

// Close implements Store.
func (s *MemoryStore) Close() error { return nil }
