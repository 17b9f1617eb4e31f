package rooms

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// GlobalBan is a uid banned from every room (PROTOCOL.md section 8.7): Until zero = forever.
type GlobalBan struct {
	UID   string
	Until time.Time
}

// sortBans orders bans by uid, the order the list endpoint pages in.
func sortBans(bs []GlobalBan) { sort.Slice(bs, func(i, j int) bool { return bs[i].UID < bs[j].UID }) }

// SetGlobalBan implements Store.
func (s *MemoryStore) SetGlobalBan(_ context.Context, uid string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bans == nil {
		s.bans = make(map[string]time.Time)
	}
	s.bans[uid] = until
	return nil
}

// LiftGlobalBan implements Store.
func (s *MemoryStore) LiftGlobalBan(_ context.Context, uid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bans, uid)
	return nil
}

// GlobalBans implements Store.
func (s *MemoryStore) GlobalBans(_ context.Context) ([]GlobalBan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]GlobalBan, 0, len(s.bans))
	for uid, until := range s.bans {
		if expired(until, now) {
			delete(s.bans, uid)
			continue
		}
		out = append(out, GlobalBan{UID: uid, Until: until})
	}
	sortBans(out)
	return out, nil
}

// SetGlobalBan implements Store: liveroom:bans is a hash uid -> until (unix milliseconds,
// 0 = forever). Expired entries are dropped by GlobalBans.
func (s *RedisStore) SetGlobalBan(ctx context.Context, uid string, until time.Time) error {
	var ms int64
	if !until.IsZero() {
		ms = until.UnixMilli()
	}
	if err := s.client.HSet(ctx, s.prefix+"bans", uid, ms).Err(); err != nil {
		return fmt.Errorf("redis: ban %s: %w", uid, err)
	}
	return nil
}

// LiftGlobalBan implements Store.
func (s *RedisStore) LiftGlobalBan(ctx context.Context, uid string) error {
	if err := s.client.HDel(ctx, s.prefix+"bans", uid).Err(); err != nil {
		return fmt.Errorf("redis: unban %s: %w", uid, err)
	}
	return nil
}

// GlobalBans implements Store.
func (s *RedisStore) GlobalBans(ctx context.Context) ([]GlobalBan, error) {
	all, err := s.client.HGetAll(ctx, s.prefix+"bans").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: bans: %w", err)
	}
	now := time.Now()
	out := make([]GlobalBan, 0, len(all))
	var gone []string
	for uid, v := range all {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue // not ours
		}
		var until time.Time
		if ms > 0 {
			until = time.UnixMilli(ms)
		}
		if expired(until, now) {
			gone = append(gone, uid)
			continue
		}
		out = append(out, GlobalBan{UID: uid, Until: until})
	}
	if len(gone) > 0 {
		_ = s.client.HDel(ctx, s.prefix+"bans", gone...).Err() // dropped again next time if this fails
	}
	sortBans(out)
	return out, nil
}
