package rooms

import (
	"fmt"
	"sort"
	"time"
)

// MaxListEntries bounds each moderation list of a room.
const MaxListEntries = 100000

// ModEntry is one moderation entry as stored: Until zero means forever.
type ModEntry struct {
	List  List      `json:"list"`
	UID   string    `json:"uid"`
	Until time.Time `json:"until"`
}

// Moderation holds a room's bans, mutes and whitelist, each uid with an expiry.
type Moderation struct {
	lists [3]map[string]time.Time // by List; zero time = forever
}

// Set applies op at now: put (TTL 0 = forever) or delete.
func (m *Moderation) Set(op ModOp, now time.Time) error {
	if int(op.List) >= len(m.lists) {
		return Errorf(CodeBadRequest, fmt.Sprintf("unknown moderation list %d", op.List))
	}
	if op.TTL < 0 {
		return Errorf(CodeBadRequest, "ttl must be >= 0")
	}
	l := m.lists[op.List]
	if !op.Set {
		delete(l, op.UID)
		return nil
	}
	if l == nil {
		l = make(map[string]time.Time)
		m.lists[op.List] = l
	}
	if _, ok := l[op.UID]; !ok && len(l) >= MaxListEntries {
		m.sweep(op.List, now)
		if len(l) >= MaxListEntries {
			return Errorf(CodeBadRequest, fmt.Sprintf("the %s list is full (%d entries)", op.List, MaxListEntries))
		}
	}
	var until time.Time
	if op.TTL > 0 {
		until = now.Add(op.TTL)
	}
	l[op.UID] = until
	return nil
}

// Has reports whether uid is on the list at now; an expired entry is dropped.
func (m *Moderation) Has(list List, uid string, now time.Time) bool {
	if int(list) >= len(m.lists) {
		return false
	}
	until, ok := m.lists[list][uid]
	if !ok {
		return false
	}
	if !until.IsZero() && !now.Before(until) {
		delete(m.lists[list], uid)
		return false
	}
	return true
}

// Sweep drops every expired entry.
func (m *Moderation) Sweep(now time.Time) {
	for l := range m.lists {
		m.sweep(List(l), now)
	}
}

func (m *Moderation) sweep(list List, now time.Time) {
	for uid, until := range m.lists[list] {
		if !until.IsZero() && !now.Before(until) {
			delete(m.lists[list], uid)
		}
	}
}

// Entries returns the live entries, sorted by list then uid (for persistence).
func (m *Moderation) Entries(now time.Time) []ModEntry {
	m.Sweep(now)
	var out []ModEntry
	for l, entries := range m.lists {
		for uid, until := range entries {
			out = append(out, ModEntry{List: List(l), UID: uid, Until: until})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].List != out[j].List {
			return out[i].List < out[j].List
		}
		return out[i].UID < out[j].UID
	})
	return out
}

// Load replaces the lists with entries (expired ones are dropped on read).
func (m *Moderation) Load(entries []ModEntry) {
	m.lists = [3]map[string]time.Time{}
	for _, e := range entries {
		if int(e.List) >= len(m.lists) {
			continue
		}
		if m.lists[e.List] == nil {
			m.lists[e.List] = make(map[string]time.Time)
		}
		m.lists[e.List][e.UID] = e.Until
	}
}
