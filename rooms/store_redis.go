package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps rooms' state in Redis (github.com/redis/go-redis/v9): per room a JSON state
// under liveroom:room:<id> and its last stamp under liveroom:head:<id>. It is what several nodes share; see docs/decisions.md for what
// is written when.
type RedisStore struct {
	client *redis.Client
	prefix string
}

// NewRedisStore connects to a redis:// URL and checks it answers.
func NewRedisStore(ctx context.Context, url string) (*RedisStore, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	s := &RedisStore{client: redis.NewClient(opts), prefix: "liveroom:"}
	if err := s.Ping(ctx); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// LoadRoom implements Store.
func (s *RedisStore) LoadRoom(ctx context.Context, room string) (State, bool, error) {
	var st State
	vals, err := s.client.MGet(ctx, s.prefix+"room:"+room, s.prefix+"head:"+room).Result()
	if err != nil {
		return st, false, fmt.Errorf("redis: load %s: %w", room, err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		return st, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, false, fmt.Errorf("redis: room %s: %w", room, err)
	}
	if hraw, ok := vals[1].(string); ok {
		var h Head
		if json.Unmarshal([]byte(hraw), &h) == nil {
			h.apply(&st)
		}
	}
	return st, true, nil
}

// SaveRoom implements Store.
func (s *RedisStore) SaveRoom(ctx context.Context, room string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, s.prefix+"room:"+room, b, 0).Err(); err != nil {
		return fmt.Errorf("redis: save %s: %w", room, err)
	}
	return nil
}

// SaveHead implements Store.
func (s *RedisStore) SaveHead(ctx context.Context, room string, h Head) error {
	b, _ := json.Marshal(h)
	if err := s.client.Set(ctx, s.prefix+"head:"+room, b, 0).Err(); err != nil {
		return fmt.Errorf("redis: save head %s: %w", room, err)
	}
	return nil
}

// MarkActive implements Store.
func (s *RedisStore) MarkActive(ctx context.Context, room string, active bool) error {
	var err error
	if active {
		err = s.client.SAdd(ctx, s.prefix+"active", room).Err()
	} else {
		err = s.client.SRem(ctx, s.prefix+"active", room).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: mark %s: %w", room, err)
	}
	return nil
}

// ActiveRooms implements Store.
func (s *RedisStore) ActiveRooms(ctx context.Context) ([]string, error) {
	rooms, err := s.client.SMembers(ctx, s.prefix+"active").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: active rooms: %w", err)
	}
	sort.Strings(rooms)
	return rooms, nil
}

// Heartbeat implements Store.
func (s *RedisStore) Heartbeat(ctx context.Context, node, ws string, now time.Time) error {
	b, _ := json.Marshal(nodeBeat{WS: ws, Seen: now.UnixNano()})
	if err := s.client.HSet(ctx, s.prefix+"nodes", node, b).Err(); err != nil {
		return fmt.Errorf("redis: heartbeat: %w", err)
	}
	return nil
}

// Nodes implements Store.
func (s *RedisStore) Nodes(ctx context.Context, since time.Time) (map[string]string, error) {
	all, err := s.client.HGetAll(ctx, s.prefix+"nodes").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: nodes: %w", err)
	}
	out := map[string]string{}
	for n, raw := range all {
		var b nodeBeat
		if json.Unmarshal([]byte(raw), &b) == nil && b.Seen > since.UnixNano() {
			out[n] = b.WS
		}
	}
	return out, nil
}

// Ping implements Store.
func (s *RedisStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Close implements Store.
func (s *RedisStore) Close() error { return s.client.Close() }
