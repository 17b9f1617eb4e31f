package rooms

import (
	"sort"
	"time"
)

// Page returns up to limit live entries of list at now with uid > after, in uid order, and
// whether more follow (the list endpoints of PROTOCOL.md section 8.7 page by the last uid).
// It sorts the list's live uids: an admin read, never on a viewer's path.
func (m *Moderation) Page(list List, after string, limit int, now time.Time) (page []ModEntry, more bool) {
	if int(list) >= numLists || limit < 1 {
		return nil, false
	}
	m.sweep(list, now)
	uids := make([]string, 0, len(m.lists[list]))
	for uid := range m.lists[list] {
		if uid > after {
			uids = append(uids, uid)
		}
	}
	sort.Strings(uids)
	if len(uids) > limit {
		uids, more = uids[:limit], true
	}
	page = make([]ModEntry, len(uids))
	for i, uid := range uids {
		page[i] = ModEntry{List: list, UID: uid, Until: m.lists[list][uid]}
	}
	return page, more
}

// ModerationPage is Moderation.Page of the room's lists.
func (r *Room) ModerationPage(list List, after string, limit int, now time.Time) ([]ModEntry, bool) {
	return r.mod.Page(list, after, limit, now)
}
