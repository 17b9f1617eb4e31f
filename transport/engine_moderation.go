package transport

import (
	"context"
	"time"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// Moderator is global moderation and the moderation lists (PROTOCOL.md section 8.7), part of
// Engine. Every method is safe for concurrent use.
type Moderator interface {
	// BanUser bans uid from every room for ttl (0 = forever): its sessions on every node get
	// a whole-session kick banned, and its upgrades are refused while the ban lasts.
	BanUser(ctx context.Context, uid string, ttl time.Duration) error
	// UnbanUser lifts uid's global ban.
	UnbanUser(ctx context.Context, uid string) error
	// KickUser closes uid's sessions on every node (whole-session kick kicked).
	KickUser(ctx context.Context, uid string) error
	// UserBanned reports whether uid is banned from every room; it is cheap (a node-local
	// cache): the upgrade asks it.
	UserBanned(uid string) bool
	// GlobalBanPage, ModerationPage and RoomsPage return up to limit entries after the id
	// after, in id order, and whether more follow.
	GlobalBanPage(ctx context.Context, after string, limit int) ([]wire.ListItem, bool, error)
	ModerationPage(ctx context.Context, room string, list rooms.List, after string, limit int) ([]wire.ListItem, bool, error)
	RoomsPage(ctx context.Context, after string, limit int) ([]wire.RoomItem, bool, error)
}

var _ Moderator = (*actors.Node)(nil)
