package transport

import (
	"context"
	"encoding/json"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/rooms"
)

// Engine is what the HTTP API needs from the actor layer; actors.Node implements it.
// Every method is safe for concurrent use. Errors are *rooms.Error where the contract
// has a code for them; anything else is reported as `internal`.
type Engine interface {
	// Send offers one message to a room (stamping, moderation, upstream limit, cmid de-dup
	// happen in the room). System notices are Send with Pri ring.System and FromAdmin.
	Send(ctx context.Context, room string, req rooms.SendRequest) (rooms.Stamp, error)
	// Unpin ends the pin of the room's message at ts with an unpin notice; not_found when
	// none is pinned there.
	Unpin(ctx context.Context, room string, ts int64) (rooms.Stamp, error)
	// NoticeAll sends the same system notice to every active room and returns how many.
	NoticeAll(ctx context.Context, kind string, body json.RawMessage) (int, error)
	// Pull returns the window (since, next] of PROTOCOL.md section 4 (limit already clamped
	// to 1..pull_limit by the caller), encoded, with the room's epoch. uid is the viewer who
	// pulls ("" for a key): a banned viewer gets `banned`. The body is shared, read-only.
	Pull(ctx context.Context, room, uid string, since int64, limit int) (actors.PullResult, error)
	// WaitNew returns nil as soon as the room has a message with ts > since, or ctx's error;
	// uid as for Pull.
	WaitNew(ctx context.Context, room, uid string, since int64) error
	// Info returns the room's state, config and stats (online summed over nodes).
	Info(ctx context.Context, room string) (rooms.Info, error)
	// SetConfig applies a config patch and returns the whole new config.
	SetConfig(ctx context.Context, room string, patch rooms.ConfigPatch) (rooms.Config, error)
	// Moderate changes a moderation list; a ban also kicks the uid's sessions from the room.
	Moderate(ctx context.Context, room string, op rooms.ModOp) error
	// KickViewer kicks every session of uid from the room (kick reason "kicked").
	KickViewer(ctx context.Context, room, uid string) error
	// Ready reports whether the node has joined its cluster and reaches its store.
	Ready(ctx context.Context) error
	// Drain takes the node out of the route directory (PROTOCOL.md section 8.8): Route on
	// every node stops answering it.
	Drain()
	// Route picks the node for a uid: its name and WebSocket URL; "" = this node.
	Route(ctx context.Context, uid string) (node, ws string, err error)
	// AddCounter adds delta to a room's counter and returns its total (the backend's add);
	// SetCounter sets it (an admin's). PROTOCOL.md section 8.4.
	AddCounter(ctx context.Context, room, name string, delta int64) (int64, error)
	SetCounter(ctx context.Context, room, name string, value int64) (int64, error)
	Moderator // global bans and kicks, the lists (engine_moderation.go)

	// The WebSocket session side.

	// Connect registers a new session (per-uid session cap: the oldest is kicked "replaced").
	Connect(sess actors.Session) error
	// Disconnect unregisters a closed session (after it left its rooms).
	Disconnect(sess actors.Session)
	// Join adds the session to a room with the join's options (since, recent, push). The
	// session pulls through the result's Member until it gives it to Leave.
	Join(ctx context.Context, sess actors.Session, room string, opt actors.JoinOptions) (actors.JoinResult, error)
	// Leave removes a membership.
	Leave(m actors.Membership)
}
