package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testredis"
)

func TestRedisStore(t *testing.T) {
	url := testredis.Start(t)
	testStore(t, func(t *testing.T) Store {
		s, err := NewRedisStore(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	rs, err := NewRedisStore(context.Background(), url, StoreOptions{Retention: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	testRetention(t, rs)
	if _, err := NewRedisStore(context.Background(), "redis://127.0.0.1:1/0"); err == nil {
		t.Error("a store that cannot be reached was returned")
	}
	if _, err := NewRedisStore(context.Background(), "http://nope"); err == nil {
		t.Error("a bad URL was accepted")
	}
}
