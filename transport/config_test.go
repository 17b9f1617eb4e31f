package transport

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.applyDefaults()
	want := Config{
		Addr: ":8080", Node: hostName(), MaxBody: 4096, MaxFrame: 8192, MaxRooms: 8, PullLimit: 200,
		DefaultPullLimit: 100, MaxWait: 30 * time.Second, ConnPerIP: 20, ConnPerUID: 10,
		ConnWindow: 10 * time.Second, BlockFor: 10 * time.Second, WriteTimeout: 10 * time.Second,
		PingInterval: 30 * time.Second, ReadBufferSize: 128, WriteBufferSize: 256,
		HTTPRatePerIP: 100, HTTPRatePerUID: 20, LongPollsPerIP: 64, LongPollsPerUID: 4, HTTPConnsPerIP: 256,
		SlowKick: 6 * time.Second, SendBuffer: 64 << 10,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got  %+v\n want %+v", c, want)
	}
	if !ValidID(c.Node) {
		t.Errorf("node %q", c.Node)
	}
	// Set fields are kept; DefaultPullLimit never exceeds PullLimit; negatives are defaults.
	c = Config{Addr: "127.0.0.1:0", Node: "n7", MaxBody: 10, PullLimit: 50, MaxWait: -time.Second, ConnPerIP: -1}
	c.applyDefaults()
	if c.Addr != "127.0.0.1:0" || c.Node != "n7" || c.MaxBody != 10 || c.PullLimit != 50 || c.DefaultPullLimit != 50 ||
		c.MaxWait != 30*time.Second || c.ConnPerIP != 20 {
		t.Errorf("kept %+v", c)
	}
}

// logCapture records log lines.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func TestNewValidatesConfig(t *testing.T) {
	eng := &fakeEngine{}
	bad := func(c Config, want string) {
		t.Helper()
		s, err := New(c, eng, nil, slog.New(&logCapture{}))
		if err == nil {
			_ = s.Shutdown(context.Background())
			t.Errorf("%+v accepted", c)
			return
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	bad(Config{}, "required")
	bad(Config{JWTSecret: "s", APIKey: "a"}, "required")
	bad(Config{JWTSecret: "s", AdminKey: "a"}, "required")
	bad(Config{APIKey: "a", AdminKey: "b"}, "required")
	bad(Config{JWTSecret: "s", APIKey: "k", AdminKey: "k"}, "differ")
	bad(Config{Dev: true, APIKey: "k", AdminKey: "k"}, "differ")
	if _, err := New(Config{JWTSecret: "s", APIKey: "a", AdminKey: "b"}, nil, nil, nil); err == nil {
		t.Error("nil engine accepted")
	}
}

// TestNewDevGeneratesKeys: in dev mode missing keys are generated, usable, and logged once.
func TestNewDevGeneratesKeys(t *testing.T) {
	logs := &logCapture{}
	s, err := New(Config{Dev: true, APIKey: "my-api-key"}, &fakeEngine{}, nil, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	c := s.Config()
	if c.APIKey != "my-api-key" || len(c.AdminKey) < 20 || len(c.JWTSecret) < 20 || c.AdminKey == c.JWTSecret {
		t.Errorf("keys %q %q %q", c.APIKey, c.AdminKey, c.JWTSecret)
	}
	if len(logs.lines) != 1 || !strings.HasPrefix(logs.lines[0], "INFO ") ||
		!strings.Contains(logs.lines[0], "admin_key="+c.AdminKey) || !strings.Contains(logs.lines[0], "jwt_secret="+c.JWTSecret) ||
		strings.Contains(logs.lines[0], "my-api-key") {
		t.Errorf("log lines %q", logs.lines)
	}
	if s.Auth().Role(authRequest("/", "Bearer "+c.AdminKey)) != RoleAdmin {
		t.Error("the generated admin key does not work")
	}
	tok, err := s.IssueToken("u1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Auth().ParseToken(tok); err != nil || v.UID != "u1" {
		t.Errorf("token from the generated secret: %v %v", v, err)
	}
	// A second server generates other keys; given keys are never logged.
	other := &logCapture{}
	s2, err := New(Config{Dev: true}, &fakeEngine{}, nil, slog.New(other))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(context.Background())
	if s2.Config().AdminKey == c.AdminKey {
		t.Error("generated keys repeat")
	}
	quiet := &logCapture{}
	s3, err := New(Config{Dev: true, JWTSecret: "s", APIKey: "a", AdminKey: "b"}, &fakeEngine{}, nil, slog.New(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Shutdown(context.Background())
	if len(quiet.lines) != 0 {
		t.Errorf("logged %q with every key given", quiet.lines)
	}
}
