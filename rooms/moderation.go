package rooms

import (
	"fmt"
	"sort"
	"time"
)

// MaxListEntries bounds each moderation list of a room.
const MaxListEntries = 100000

// numLists is the number of moderation lists (Bans, Mutes, Whitelist).
const numLists = 3

// ModEntry is one moderation entry as stored: Until zero means forever.
type ModEntry struct {
	List  List      `json:"list"`
	UID   string    `json:"uid"`
	Until time.Time `json:"until"`
}

// Moderation holds a room's bans, mutes and whitelist, each uid with an expiry. Expired entries
// are dropped lazily when read (Has), by Sweep, and before a full list refuses an entry.
// The zero value is empty and ready to use.
type Moderation struct {
	lists [numLists]map[string]time.Time // by List; zero time = forever
}

func expired(until, now time.Time) bool { return !until.IsZero() && !now.Before(until) }

// Set applies op at now: put (TTL 0 = forever; a put replaces the uid's expiry) or delete.
func (m *Moderation) Set(op ModOp, now time.Time) error {
	if int(op.List) >= numLists {
		return Errorf(CodeBadRequest, fmt.Sprintf("unknown moderation list %d", op.List))
	}
	if op.UID == "" {
		return Errorf(CodeBadRequest, "moderation needs a uid")
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
	if int(list) >= numLists {
		return false
	}
	until, ok := m.lists[list][uid]
	if !ok {
		return false
	}
	if expired(until, now) {
		delete(m.lists[list], uid)
		return false
	}
	return true
}

// Len returns how many entries the list holds, expired ones not yet dropped included.
func (m *Moderation) Len(list List) int {
	if int(list) >= numLists {
		return 0
	}
	return len(m.lists[list])
}

// Sweep drops every expired entry.
func (m *Moderation) Sweep(now time.Time) {
	for l := range m.lists {
		m.sweep(List(l), now)
	}
}

func (m *Moderation) sweep(list List, now time.Time) {
	for uid, until := range m.lists[list] {
		if expired(until, now) {
			delete(m.lists[list], uid)
		}
	}
}

// Entries returns the live entries at now, sorted by list then uid (for persistence).
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

// LoadEntries replaces the lists with entries (expired ones are dropped when read). Entries of
// an unknown list, without a uid, or beyond MaxListEntries per list are left out, and the
// error says how many; the rest is loaded.
func (m *Moderation) LoadEntries(entries []ModEntry) error {
	m.lists = [numLists]map[string]time.Time{}
	skipped := 0
	for _, e := range entries {
		if int(e.List) >= numLists || e.UID == "" {
			skipped++
			continue
		}
		l := m.lists[e.List]
		if l == nil {
			l = make(map[string]time.Time)
			m.lists[e.List] = l
		}
		if _, ok := l[e.UID]; !ok && len(l) >= MaxListEntries {
			skipped++
			continue
		}
		l[e.UID] = e.Until
	}
	if skipped > 0 {
		return Errorf(CodeBadRequest, fmt.Sprintf("%d moderation entries left out (unknown list, no uid, or over %d per list)", skipped, MaxListEntries))
	}
	return nil
}
