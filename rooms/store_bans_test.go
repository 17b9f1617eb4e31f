package rooms

import (
	"context"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
)

func testGlobalBans(t *testing.T, s Store) {
	ctx := context.Background()
	soon := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(t, s.SetGlobalBan(ctx, "b", later))
	must(t, s.SetGlobalBan(ctx, "a", time.Time{}))
	must(t, s.SetGlobalBan(ctx, "c", soon))
	must(t, s.SetGlobalBan(ctx, "d", time.Time{}))
	must(t, s.LiftGlobalBan(ctx, "d"))
	must(t, s.LiftGlobalBan(ctx, "never-banned"))
	got, err := s.GlobalBans(ctx)
	must(t, err)
	want := []GlobalBan{{"a", time.Time{}}, {"b", later}, {"c", soon}}
	if len(got) != len(want) {
		t.Fatalf("bans %v, want %v", got, want)
	}
	for i := range want {
		if got[i].UID != want[i].UID || !got[i].Until.Equal(want[i].Until) {
			t.Fatalf("bans %v, want %v", got, want)
		}
	}
	testwait.For(t, 5*time.Second, "c's ban to expire", func() bool {
		got, err = s.GlobalBans(ctx)
		must(t, err)
		return len(got) == 2
	})
	if got[0].UID != "a" || got[1].UID != "b" || time.Now().Before(soon) {
		t.Fatalf("after c expired: %v", got)
	}
}

func TestGlobalBansMemory(t *testing.T) { testGlobalBans(t, NewMemoryStore()) }

func TestGlobalBansRedis(t *testing.T) {
	s, err := NewRedisStore(context.Background(), testredis.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testGlobalBans(t, s)
}
