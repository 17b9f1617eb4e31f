package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/liveroom/liveroom/client"
)

// One session sends a chat message; a viewer that joins afterwards from the start of the
// room's history receives it.
func Example() {
	// A stand-in for liveroomd speaking PROTOCOL.md; a real viewer dials ws://<node>/v1/ws with
	// a JWT from the app's backend (DialOptions.Token) instead of a dev uid.
	wsURL, stop, err := client.StartFakeServer()
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, wsURL, client.DialOptions{DevUID: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, "demo", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, "demo", client.Outgoing{Kind: "chat", Body: json.RawMessage(`{"text":"hi"}`)}); err != nil {
		log.Fatal(err)
	}

	got := make(chan string, 1)
	v, err := client.NewViewer(client.ViewerOptions{
		URL:       wsURL,
		Dial:      client.DialOptions{DevUID: "bob"},
		Rooms:     []string{"demo"},
		FromStart: true, // since = 0: everything the room retains, not only what comes next
		OnMessage: func(room string, m *client.Message) {
			got <- fmt.Sprintf("%s: %s says %s", room, m.UID, m.Body)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	vctx, stopViewer := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(vctx) }()
	select {
	case s := <-got:
		fmt.Println(s)
	case <-ctx.Done():
		log.Fatal("no message")
	}
	stopViewer()
	fmt.Println("Run returned", <-done)
	// Output:
	// demo: alice says {"text":"hi"}
	// Run returned <nil>
}

// The app's backend posts as a user and moderates with the server key.
func ExampleAPI() {
	api := client.NewAPI("http://127.0.0.1:8080", "server-key")
	ctx := context.Background()
	// With a cmid, a resend after a timeout is not accepted twice.
	s, err := api.Post(ctx, "demo", client.PostMessage{UID: "u1", Kind: "chat",
		Body: json.RawMessage(`{"text":"hello"}`), CMID: "u1-42"})
	switch {
	case client.IsCode(err, client.CodeRateLimited):
		fmt.Println("the room is over its rate: try later")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("stamped at", s.TS, "seq", s.Seq)
	}
	// u2 may watch but not send for ten minutes.
	if err := api.Mute(ctx, "demo", "u2", 10*time.Minute); err != nil {
		log.Fatal(err)
	}
}

// Viewers of one process share a Cluster; each asks /v1/route for its own uid and moves to a
// live node when its node dies.
func ExampleCluster() {
	cl, err := client.NewCluster([]string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"},
		client.ClusterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	uid, token := "u1", "<the viewer's JWT>"
	v, err := client.NewViewer(client.ViewerOptions{
		Resolve: cl.Resolver(uid),
		Dial:    client.DialOptions{Token: token}, // added to the routed URL as ?token=
		Rooms:   []string{"demo"},
	})
	if err != nil {
		log.Fatal(err)
	}
	var stopped *client.StoppedError
	if err := v.Run(context.Background()); errors.As(err, &stopped) {
		fmt.Println("stopped for good:", stopped.Reason) // replaced, banned or unauthorized
	}
}
