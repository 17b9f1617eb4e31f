package actors

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveroom/liveroom/rooms"
)

// timedStore observes the latency of the store operations the rooms wait on
// (liveroom_store_seconds{op}); the others (the directory's, Close) pass through the
// embedded Store untimed, and so does any method the interface gains until it is added here.
// One histogram observation per store call: a call is per flush tick or activation, never per
// message.
type timedStore struct {
	rooms.Store
	load, saveRoom, saveHead, deleteRoom, checkFence, markActive, attach, ping prometheus.Observer
}

var _ rooms.Store = (*timedStore)(nil)

func newTimedStore(s rooms.Store, h *prometheus.HistogramVec) *timedStore {
	return &timedStore{Store: s,
		load: h.WithLabelValues("load_room"), saveRoom: h.WithLabelValues("save_room"), saveHead: h.WithLabelValues("save_head"),
		deleteRoom: h.WithLabelValues("delete_room"), checkFence: h.WithLabelValues("check_fence"),
		markActive: h.WithLabelValues("mark_active"), attach: h.WithLabelValues("attach_session"), ping: h.WithLabelValues("ping")}
}

func observeSince(o prometheus.Observer, began time.Time) { o.Observe(time.Since(began).Seconds()) }

func (s *timedStore) LoadRoom(ctx context.Context, room string) (rooms.State, bool, uint64, error) {
	defer observeSince(s.load, time.Now())
	return s.Store.LoadRoom(ctx, room)
}

func (s *timedStore) SaveRoom(ctx context.Context, room string, st rooms.State, fence uint64) error {
	defer observeSince(s.saveRoom, time.Now())
	return s.Store.SaveRoom(ctx, room, st, fence)
}

func (s *timedStore) SaveHead(ctx context.Context, room string, h rooms.Head, fence uint64) error {
	defer observeSince(s.saveHead, time.Now())
	return s.Store.SaveHead(ctx, room, h, fence)
}

func (s *timedStore) DeleteRoom(ctx context.Context, room string, fence uint64) error {
	defer observeSince(s.deleteRoom, time.Now())
	return s.Store.DeleteRoom(ctx, room, fence)
}

func (s *timedStore) CheckFence(ctx context.Context, room string, fence uint64) error {
	defer observeSince(s.checkFence, time.Now())
	return s.Store.CheckFence(ctx, room, fence)
}

func (s *timedStore) MarkActive(ctx context.Context, room string, active bool) error {
	defer observeSince(s.markActive, time.Now())
	return s.Store.MarkActive(ctx, room, active)
}

func (s *timedStore) AttachSession(ctx context.Context, uid, id string, at time.Time, ttl time.Duration) ([]rooms.DirEntry, error) {
	defer observeSince(s.attach, time.Now())
	return s.Store.AttachSession(ctx, uid, id, at, ttl)
}

func (s *timedStore) Ping(ctx context.Context) error {
	defer observeSince(s.ping, time.Now())
	return s.Store.Ping(ctx)
}
