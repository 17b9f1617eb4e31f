package transport

import (
	"errors"
	"time"
)

// Config configures a Server. Zero fields take the defaults written beside them.
type Config struct {
	Addr      string // listen address; default ":8080"
	Dev       bool   // dev mode: ?uid= logins, /v1/dev/token, the demo and admin pages
	JWTSecret string // HS256 secret for viewer tokens; required
	APIKey    string // the server key; required
	AdminKey  string // the admin key; required
	Node      string // this node's name; default "n1"
	Advertise string // public ws URL for /v1/route; default derived from the request's Host

	MaxBody          int           // bytes of a message body; default 4096
	MaxFrame         int           // bytes of a client frame; default 8192 (over: close 1009)
	MaxRooms         int           // rooms per session; default 8
	PullLimit        int           // largest pull; default 200
	DefaultPullLimit int           // pull size when not given; default 100
	MaxWait          time.Duration // longest HTTP long-poll; default 30s
	ConnPerIP        int           // connection attempts per IP per ConnWindow; default 20
	ConnPerUID       int           // connection attempts per uid per ConnWindow; default 10
	ConnWindow       time.Duration // default 10s
	BlockFor         time.Duration // block after exceeding a connection limit (extended by retries); default 10s
	WriteTimeout     time.Duration // a session write's deadline; default 10s
	PingInterval     time.Duration // WebSocket ping to every session; silent for 3 intervals = closed; default 30s
	ReadBufferSize   int           // WebSocket read buffer; default 256
	WriteBufferSize  int           // WebSocket write buffer (pooled); default 256
}

func (c *Config) applyDefaults() {
	setI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Node == "" {
		c.Node = "n1"
	}
	setI(&c.MaxBody, 4096)
	setI(&c.MaxFrame, 8192)
	setI(&c.MaxRooms, 8)
	setI(&c.PullLimit, 200)
	setI(&c.DefaultPullLimit, 100)
	setD(&c.MaxWait, 30*time.Second)
	setI(&c.ConnPerIP, 20)
	setI(&c.ConnPerUID, 10)
	setD(&c.ConnWindow, 10*time.Second)
	setD(&c.BlockFor, 10*time.Second)
	setD(&c.WriteTimeout, 10*time.Second)
	setD(&c.PingInterval, 30*time.Second)
	setI(&c.ReadBufferSize, 256)
	setI(&c.WriteBufferSize, 256)
	c.DefaultPullLimit = min(c.DefaultPullLimit, c.PullLimit)
}

func (c *Config) validate() error {
	if c.JWTSecret == "" || c.APIKey == "" || c.AdminKey == "" {
		return errors.New("--jwt-secret, --api-key and --admin-key are required (or run with --dev)")
	}
	if c.APIKey == c.AdminKey {
		return errors.New("--api-key and --admin-key must differ")
	}
	return nil
}
