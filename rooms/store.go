package rooms

import "context"

// Store keeps rooms' durable state. Implementations are safe for concurrent use.
type Store interface {
	// LoadRoom returns the room's state; found is false for a room never saved.
	LoadRoom(ctx context.Context, room string) (st State, found bool, err error)
	// SaveRoom replaces the room's state.
	SaveRoom(ctx context.Context, room string, st State) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
