package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps rooms' state in Redis (github.com/redis/go-redis/v9), one JSON value per
// room under KeyPrefix + room. It is what several nodes share; see docs/decisions.md for what
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
	s := &RedisStore{client: redis.NewClient(opts), prefix: "liveroom:room:"}
	if err := s.Ping(ctx); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// LoadRoom implements Store.
func (s *RedisStore) LoadRoom(ctx context.Context, room string) (State, bool, error) {
	var st State
	b, err := s.client.Get(ctx, s.prefix+room).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("redis: load %s: %w", room, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("redis: room %s: %w", room, err)
	}
	return st, true, nil
}

// SaveRoom implements Store.
func (s *RedisStore) SaveRoom(ctx context.Context, room string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, s.prefix+room, b, 0).Err(); err != nil {
		return fmt.Errorf("redis: save %s: %w", room, err)
	}
	return nil
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
