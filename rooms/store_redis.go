package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps rooms' state in Redis (github.com/redis/go-redis/v9): per room a JSON state
// under liveroom:room:<id>, its last stamp under liveroom:head:<id> and its claim (the fence of
// its newest activation) under liveroom:fence:<id>, all three expiring Retention after the
// room's last save. It is what several nodes share; see docs/decisions.md for what is written
// when.
type RedisStore struct {
	client    *redis.Client
	prefix    string
	retention time.Duration
}

// NewRedisStore connects to a redis:// URL and checks it answers.
func NewRedisStore(ctx context.Context, url string, opts ...StoreOptions) (*RedisStore, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	var so StoreOptions
	if len(opts) > 0 {
		so = opts[0]
	}
	s := &RedisStore{client: redis.NewClient(o), prefix: "liveroom:", retention: so.retention()}
	if err := s.Ping(ctx); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// keys are a room's keys: state, head, claim, history index (a list of ts), the seq of the
// index's first entry and the counters (a hash of name -> total).
func (s *RedisStore) keys(room string) []string {
	return []string{s.prefix + "room:" + room, s.prefix + "head:" + room, s.prefix + "fence:" + room,
		s.prefix + "idx:" + room, s.prefix + "idxfirst:" + room, s.prefix + "counters:" + room}
}

// loadScript reads a room's state, head and history index and claims it (a new fence), in one
// round trip.
var loadScript = redis.NewScript(`
local st = redis.call('GET', KEYS[1])
local hd = redis.call('GET', KEYS[2])
local f = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
local first = redis.call('GET', KEYS[5])
local idx = redis.call('LRANGE', KEYS[4], 0, -1)
local cn = redis.call('HGETALL', KEYS[6])
return {st, hd, f, first, idx, cn}
`)

// saveScript writes ARGV[1] under KEYS[1] (the state or the head) unless the room (claim
// KEYS[2]) was claimed after ARGV[2], and appends ARGV[6..] (ts of the seqs from ARGV[4]) to
// the history index KEYS[3] (first seq in KEYS[4]) as appendIndex does (replacing an overlap
// of its end, starting it over when they neither follow nor overlap it) and keeping its last
// ARGV[5] entries. Every write renews the retention (ARGV[3] ms) of all of them.
var saveScript = redis.NewScript(`
local f = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) < f then return redis.error_reply('FENCED') end
local px = ARGV[3]
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
redis.call('PEXPIRE', KEYS[2], px)
if #ARGV > 5 then
  local from = tonumber(ARGV[4])
  local first = tonumber(redis.call('GET', KEYS[4]) or '0')
  local len = redis.call('LLEN', KEYS[3])
  if len == 0 or from <= first or from > first + len then
    redis.call('DEL', KEYS[3])
    first, len = from, 0
  elseif from < first + len then
    redis.call('LTRIM', KEYS[3], 0, from - first - 1)
    len = from - first
  end
  for i = 6, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  local over = len + #ARGV - 5 - tonumber(ARGV[5])
  if over > 0 then
    redis.call('LTRIM', KEYS[3], over, -1)
    first = first + over
  end
  redis.call('SET', KEYS[4], first, 'PX', px)
end
redis.call('PEXPIRE', KEYS[3], px)
redis.call('PEXPIRE', KEYS[5], px)
return 1
`)

// countersScript sets the counters ARGV[3..] (name, total pairs) in the hash KEYS[1] unless
// the room (claim KEYS[2]) was claimed after ARGV[1], and renews the retention (ARGV[2] ms)
// of the room's keys KEYS[1..]. Totals, not increments: a write retried after a timeout that
// had in fact succeeded sets the same values again instead of counting twice.
var countersScript = redis.NewScript(`
local f = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) < f then return redis.error_reply('FENCED') end
if #ARGV > 2 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
end
for i = 1, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
`)

// deleteScript drops a room's keys unless it was claimed after ARGV[1].
var deleteScript = redis.NewScript(`
local f = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[1]) < f then return redis.error_reply('FENCED') end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
`)

// saveArgs are saveScript's arguments for value and the index run.
func (s *RedisStore) saveArgs(value []byte, fence uint64, run Index) []any {
	args := make([]any, 0, 5+len(run.TS))
	args = append(args, value, fence, s.retention.Milliseconds(), run.From, StoredIndex)
	for _, ts := range run.TS {
		args = append(args, ts)
	}
	return args
}

func fenceErr(room string, err error) error {
	if err != nil && strings.HasSuffix(err.Error(), "FENCED") {
		return ErrFenced
	}
	if err != nil {
		return fmt.Errorf("redis: %s: %w", room, err)
	}
	return nil
}

// LoadRoom implements Store.
func (s *RedisStore) LoadRoom(ctx context.Context, room string) (State, bool, uint64, error) {
	var st State
	k := s.keys(room)
	vals, err := loadScript.Run(ctx, s.client, k, s.retention.Milliseconds()).Slice()
	if err != nil {
		return st, false, 0, fmt.Errorf("redis: load %s: %w", room, err)
	}
	if len(vals) != 6 {
		return st, false, 0, fmt.Errorf("redis: load %s: %d values", room, len(vals))
	}
	fence, ok := vals[2].(int64)
	if !ok || fence <= 0 {
		return st, false, 0, fmt.Errorf("redis: load %s: bad fence %v", room, vals[2])
	}
	counters, err := parseCounters(vals[5])
	if err != nil {
		return st, false, uint64(fence), fmt.Errorf("redis: room %s: %w", room, err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		st.Counters = counters
		return st, false, uint64(fence), nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return State{}, false, uint64(fence), fmt.Errorf("redis: room %s: %w", room, err)
	}
	st.Counters = counters
	if hraw, ok := vals[1].(string); ok {
		var h Head
		if json.Unmarshal([]byte(hraw), &h) == nil {
			h.apply(&st)
		}
	}
	first, _ := vals[3].(string)
	f, _ := strconv.ParseUint(first, 10, 64)
	raws, _ := vals[4].([]any)
	idx := make([]int64, 0, len(raws))
	for _, r := range raws {
		v, _ := r.(string)
		ts, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			idx = nil // a broken index is no index
			break
		}
		idx = append(idx, ts)
	}
	loadedIndex(&st, f, idx)
	return st, true, uint64(fence), nil
}

// parseCounters reads HGETALL's flat name, value list (nil when empty). A value that is not
// an int64 is an error: a room must not restart its totals from a guess.
func parseCounters(v any) (Counters, error) {
	flat, _ := v.([]any)
	if len(flat) == 0 {
		return nil, nil
	}
	out := make(Counters, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		name, _ := flat[i].(string)
		raw, _ := flat[i+1].(string)
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("counter %q: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

// SaveCounters implements Store.
func (s *RedisStore) SaveCounters(ctx context.Context, room string, values Counters, fence uint64) error {
	k := s.keys(room)
	args := make([]any, 0, 2+2*len(values))
	args = append(args, fence, s.retention.Milliseconds())
	for name, v := range values {
		args = append(args, name, v)
	}
	return fenceErr(room, countersScript.Run(ctx, s.client, []string{k[5], k[2], k[0], k[1], k[3], k[4]}, args...).Err())
}

// SaveRoom implements Store.
func (s *RedisStore) SaveRoom(ctx context.Context, room string, st State, fence uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	k := s.keys(room)
	return fenceErr(room, saveScript.Run(ctx, s.client, []string{k[0], k[2], k[3], k[4], k[5]}, s.saveArgs(b, fence, st.Index)...).Err())
}

// SaveHead implements Store.
func (s *RedisStore) SaveHead(ctx context.Context, room string, h Head, fence uint64) error {
	b, _ := json.Marshal(h)
	k := s.keys(room)
	return fenceErr(room, saveScript.Run(ctx, s.client, []string{k[1], k[2], k[3], k[4], k[5]}, s.saveArgs(b, fence, h.Index)...).Err())
}

// DeleteRoom implements Store.
func (s *RedisStore) DeleteRoom(ctx context.Context, room string, fence uint64) error {
	return fenceErr(room, deleteScript.Run(ctx, s.client, s.keys(room), fence).Err())
}

// CheckFence implements Store.
func (s *RedisStore) CheckFence(ctx context.Context, room string, fence uint64) error {
	v, err := s.client.Get(ctx, s.keys(room)[2]).Uint64()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redis: fence %s: %w", room, err)
	}
	if fence < v {
		return ErrFenced
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
func (s *RedisStore) Heartbeat(ctx context.Context, node string, at NodeAddr, now time.Time) error {
	b, _ := json.Marshal(nodeBeat{NodeAddr: at, Seen: now.UnixNano()})
	if err := s.client.HSet(ctx, s.prefix+"nodes", node, b).Err(); err != nil {
		return fmt.Errorf("redis: heartbeat: %w", err)
	}
	return nil
}

// Nodes implements Store.
func (s *RedisStore) Nodes(ctx context.Context, since time.Time) (map[string]NodeAddr, error) {
	all, err := s.client.HGetAll(ctx, s.prefix+"nodes").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: nodes: %w", err)
	}
	out := map[string]NodeAddr{}
	for n, raw := range all {
		var b nodeBeat
		if json.Unmarshal([]byte(raw), &b) == nil && b.Seen > since.UnixNano() {
			out[n] = b.NodeAddr
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
