package rooms

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DirEntry is one live session of a uid in the cluster-wide uid directory (DESIGN.md section
// 3: which nodes hold a uid's sessions). The directory is how a node enforces the per-uid
// session cap over the whole cluster.
type DirEntry struct {
	ID string // opaque to the store; the node that wrote it knows where the session lives
	At int64  // connect time, unix microseconds
}

// sortEntries orders entries oldest first (ties by ID), the order the cap kicks in.
func sortEntries(es []DirEntry) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].At != es[j].At {
			return es[i].At < es[j].At
		}
		return es[i].ID < es[j].ID
	})
}

// AttachSession implements Store.
func (s *MemoryStore) AttachSession(_ context.Context, uid, id string, at time.Time, _ time.Duration) ([]DirEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.uids[uid]
	if m == nil {
		m = make(map[string]int64)
		s.uids[uid] = m
	}
	m[id] = at.UnixMicro()
	out := make([]DirEntry, 0, len(m))
	for id, at := range m {
		out = append(out, DirEntry{ID: id, At: at})
	}
	sortEntries(out)
	return out, nil
}

// DetachSessions implements Store.
func (s *MemoryStore) DetachSessions(_ context.Context, uid string, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.uids[uid]
	for _, id := range ids {
		delete(m, id)
	}
	if len(m) == 0 {
		delete(s.uids, uid)
	}
	return nil
}

// attachScript adds a session to the uid's sorted set (score: connect micros), renews the
// set's expiry and returns the whole set, in one round trip.
var attachScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`)

// AttachSession implements Store: liveroom:uid:<uid> is a sorted set of session ids scored
// by connect time; it expires ttl after the uid's last attach, so the entries of a node that
// died do not outlive a day of the uid's absence.
func (s *RedisStore) AttachSession(ctx context.Context, uid, id string, at time.Time, ttl time.Duration) ([]DirEntry, error) {
	res, err := attachScript.Run(ctx, s.client, []string{s.prefix + "uid:" + uid}, at.UnixMicro(), id, ttl.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: attach %s: %w", uid, err)
	}
	out := make([]DirEntry, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		ms, err := strconv.ParseFloat(res[i+1], 64) // scores come back as doubles
		if err != nil {
			return nil, fmt.Errorf("redis: uid %s: bad score %q", uid, res[i+1])
		}
		out = append(out, DirEntry{ID: res[i], At: int64(ms)})
	}
	sortEntries(out) // ZRANGE orders ties by member bytes already; sorting keeps one rule
	return out, nil
}

// DetachSessions implements Store.
func (s *RedisStore) DetachSessions(ctx context.Context, uid string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.client.ZRem(ctx, s.prefix+"uid:"+uid, members...).Err(); err != nil {
		return fmt.Errorf("redis: detach %s: %w", uid, err)
	}
	return nil
}
