package loadtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// fakeCluster is a stand-in for liveroomd nodes sharing their rooms, as much of PROTOCOL.md as
// the load tester uses: hello, join (with since), notify-pull with the section 4 accounting
// (every message in the window, dropped 0), posts and notices with cmid de-dup, /v1/route and
// /metrics. Tests set the hooks before the run; everything else is guarded by mu.
type fakeCluster struct {
	t     *testing.T
	mu    sync.Mutex
	rooms map[string]*fakeRoom
	nodes []*fakeNode
	last  int64 // last ts stamped

	// Hooks, set before the run.
	nextSeq   string                             // msgs frames carry next_seq: "" no, "right", "wrong" (twice the seq)
	failPost  func(path string, attempt int) int // status to answer instead of accepting (0: accept); attempt counts per cmid
	route     func(uid string, asked int) string // the ws URL /v1/route answers on node asked (nil: that node's own)
	noticeCnt map[string]int                     // attempts per cmid (guarded by mu)
	deafJoins func(node int) bool                // the node leaves joins unanswered
	refuse    func(node int, op string) bool     // the node answers the op with an error frame
	frozen    func(node int) bool                // the node neither writes nor answers on its sessions (SIGSTOP)
	loseAdd   func(n int) bool                   // the n-th viewer add (from 1) is accepted but not counted
	refuseAdd func(delta int64) bool             // a viewer add is refused with rate_limited (called with mu held)
	muteCnt   func(uid string) bool              // the uid's sessions get no counters frames
	pingJoin  bool                               // a session is sent a WebSocket ping after each joined
}

type fakeRoom struct {
	epoch    string
	msgs     []fakeMsg
	cmids    map[string]int   // cmid -> index in msgs
	counters map[string]int64 // fakecounters_test.go
	adds     int              // viewer adds received
}

type fakeMsg struct {
	ts   int64
	seq  uint64
	pri  string
	cmid string
}

type fakeNode struct {
	c        *fakeCluster
	k        int
	srv      *httptest.Server
	sessions map[*fakeSession]bool // guarded by c.mu
	routes   int                   // /v1/route answered (guarded by c.mu)
	posts    int                   // posts and notices received (guarded by c.mu)
	resumes  int                   // joins with since (guarded by c.mu)
	pongs    int                   // WebSocket pongs received (guarded by c.mu)
}

type fakeSession struct {
	n       *fakeNode
	uid     string
	conn    *websocket.Conn
	wmu     sync.Mutex
	rooms   map[string]bool
	pending map[string]bool         // pull in progress per room (guarded by n.c.mu)
	addRate map[string]*fakeAddRate // per room (guarded by n.c.mu)
}

func newFakeCluster(t *testing.T, nodes int) *fakeCluster {
	c := &fakeCluster{t: t, rooms: map[string]*fakeRoom{}, noticeCnt: map[string]int{}}
	for k := range nodes {
		n := &fakeNode{c: c, k: k, sessions: map[*fakeSession]bool{}}
		n.srv = httptest.NewServer(n)
		c.nodes = append(c.nodes, n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.kill()
		}
	})
	return c
}

// urls is the Config.URL of the cluster.
func (c *fakeCluster) urls() string {
	var u []string
	for _, n := range c.nodes {
		u = append(u, n.srv.URL)
	}
	return strings.Join(u, ",")
}

func (n *fakeNode) wsURL() string { return "ws://" + n.srv.Listener.Addr().String() + "/v1/ws" }

// kill ends the node as kill -9 would: every connection closed without a frame, the port shut.
func (n *fakeNode) kill() {
	n.c.mu.Lock()
	var conns []*websocket.Conn
	for s := range n.sessions {
		conns = append(conns, s.conn)
	}
	n.sessions = map[*fakeSession]bool{}
	n.c.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	n.srv.CloseClientConnections()
	n.srv.Close()
}

// kick sends uid's sessions on this node a whole-session kick and closes them with code.
func (n *fakeNode) kick(uid, reason string, code int) int { return n.kickWith(uid, reason, code, "") }

// kickWith is kick with more members in the kick frame (extra: `,"retry_ms":500`).
func (n *fakeNode) kickWith(uid, reason string, code int, extra string) int {
	n.c.mu.Lock()
	var ss []*fakeSession
	for s := range n.sessions {
		if s.uid == uid {
			ss = append(ss, s)
			delete(n.sessions, s)
		}
	}
	n.c.mu.Unlock()
	for _, s := range ss {
		s.write(`{"op":"kick","reason":"` + reason + `"` + extra + `}`)
		s.wmu.Lock()
		_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		s.wmu.Unlock()
		_ = s.conn.Close()
	}
	return len(ss)
}

// grainNode is the node that hosts the room's grain: a hash of its name over the nodes.
func (c *fakeCluster) grainNode(room string) int {
	h := fnv.New32a()
	h.Write([]byte(room))
	return int(h.Sum32() % uint32(len(c.nodes)))
}

// placement is what liveroomd's gauges would say of the node: the rooms whose grain it hosts,
// and the rooms its sessions joined (a replica each).
func (n *fakeNode) placement() (grains, replicas int) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	for room := range n.c.rooms {
		if n.c.grainNode(room) == n.k {
			grains++
		}
	}
	joined := map[string]bool{}
	for s := range n.sessions {
		for room := range s.rooms {
			joined[room] = true
		}
	}
	return grains, len(joined)
}

func (n *fakeNode) sessionCount() int {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return len(n.sessions)
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/ws":
		n.serveWS(w, r)
	case p == "/v1/route":
		n.c.mu.Lock()
		n.routes++
		route := n.c.route
		n.c.mu.Unlock()
		ws := n.wsURL()
		if route != nil {
			ws = route(r.URL.Query().Get("uid"), n.k)
		}
		fmt.Fprintf(w, `{"node":"n%d","ws":%q}`, n.k, ws)
	case p == "/metrics":
		grains, replicas := n.placement()
		fmt.Fprintf(w, "# TYPE go_goroutines gauge\ngo_goroutines %d\nliveroom_sessions %d\nliveroom_cluster_members %d\n"+
			"liveroom_rooms %d\nliveroom_rooms_undurable 0\nliveroom_replicas %d\n",
			100+n.k, n.sessionCount(), len(n.c.nodes), grains, replicas)
	case n.c.serveCounters(w, r):
	case strings.HasPrefix(p, "/v1/rooms/") && r.Method == "POST":
		parts := strings.Split(p, "/") // "", v1, rooms, R, messages|notices
		if len(parts) != 5 {
			http.Error(w, "bad path", 404)
			return
		}
		n.c.mu.Lock()
		n.posts++
		n.c.mu.Unlock()
		n.c.post(w, r, parts[3], parts[4])
	default:
		http.Error(w, "not found", 404)
	}
}

func (c *fakeCluster) post(w http.ResponseWriter, r *http.Request, room, what string) {
	var body struct {
		Pri  string `json:"pri"`
		CMID string `json:"cmid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	if what == "notices" {
		body.Pri = "system"
	}
	c.mu.Lock()
	attempt := 0
	if body.CMID != "" {
		c.noticeCnt[body.CMID]++
		attempt = c.noticeCnt[body.CMID]
	}
	fail := c.failPost
	c.mu.Unlock()
	if fail != nil {
		if st := fail(r.URL.Path, attempt); st != 0 {
			http.Error(w, `{"error":{"code":"unavailable"}}`, st)
			return
		}
	}
	ts, seq, dup := c.appendMsg(room, body.Pri, body.CMID)
	if dup {
		fmt.Fprintf(w, `{"ts":%d,"seq":%d,"dup":true}`, ts, seq)
		return
	}
	fmt.Fprintf(w, `{"ts":%d,"seq":%d}`, ts, seq)
}

func (c *fakeCluster) roomLocked(name string) *fakeRoom {
	rm := c.rooms[name]
	if rm == nil {
		rm = &fakeRoom{epoch: "e1", cmids: map[string]int{}}
		c.rooms[name] = rm
	}
	return rm
}

// appendMsg stamps a message and notifies the room's sessions that have no pull in progress.
func (c *fakeCluster) appendMsg(room, pri, cmid string) (int64, uint64, bool) {
	c.mu.Lock()
	rm := c.roomLocked(room)
	if i, ok := rm.cmids[cmid]; ok && cmid != "" {
		m := rm.msgs[i]
		c.mu.Unlock()
		return m.ts, m.seq, true
	}
	c.last = max(c.last+1, time.Now().UnixMicro())
	m := fakeMsg{ts: c.last, seq: uint64(len(rm.msgs) + 1), pri: pri, cmid: cmid}
	rm.msgs = append(rm.msgs, m)
	if cmid != "" {
		rm.cmids[cmid] = len(rm.msgs) - 1
	}
	var notify []*fakeSession
	for _, n := range c.nodes {
		for s := range n.sessions {
			if s.rooms[room] && !s.pending[room] {
				s.pending[room] = true
				notify = append(notify, s)
			}
		}
	}
	c.mu.Unlock()
	for _, s := range notify {
		s.write(`{"op":"notify","room":"` + room + `","ts":` + strconv.FormatInt(m.ts, 10) + `}`)
	}
	return m.ts, m.seq, false
}

var fakeUpgrader = websocket.Upgrader{}

func (n *fakeNode) serveWS(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("uid")
	if uid == "" {
		uid = "token-user" // the load tester signs tokens; the fake does not check them
	}
	conn, err := fakeUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s := &fakeSession{n: n, uid: uid, conn: conn, rooms: map[string]bool{}, pending: map[string]bool{}, addRate: map[string]*fakeAddRate{}}
	stopCounters := make(chan struct{})
	defer close(stopCounters)
	conn.SetPongHandler(func(string) error {
		n.c.mu.Lock()
		n.pongs++
		n.c.mu.Unlock()
		return nil
	})
	n.c.mu.Lock()
	n.sessions[s] = true
	n.c.mu.Unlock()
	defer func() {
		n.c.mu.Lock()
		delete(n.sessions, s)
		n.c.mu.Unlock()
		_ = conn.Close()
	}()
	s.write(`{"op":"hello","uid":"` + uid + `","node":"n` + strconv.Itoa(n.k) + `","server_ts":1,"limits":{"max_body":4096,"max_rooms":8,"pull_limit":200}}`)
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Op    string `json:"op"`
			Room  string `json:"room"`
			Since *int64 `json:"since"`
			Limit int    `json:"limit"`
			ID    int64  `json:"id"`
			Name  string `json:"counter"`
			Delta int64  `json:"delta"`
		}
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		if frozen := n.c.frozen; frozen != nil && frozen(n.k) {
			continue
		}
		if refuse := n.c.refuse; refuse != nil && refuse(n.k, f.Op) {
			s.write(fmt.Sprintf(`{"op":"error","id":%d,"code":"unavailable","message":"no"}`, f.ID))
			if f.Op == "pull" { // as the server's notify retry would, a little later
				s.write(`{"op":"notify","room":"` + f.Room + `","ts":1}`)
			}
			continue
		}
		switch f.Op {
		case "join":
			if deaf := n.c.deafJoins; deaf != nil && deaf(n.k) {
				continue
			}
			s.join(f.Room, f.Since, f.ID)
			s.startCounters(f.Room, stopCounters)
		case "add":
			s.add(f.Room, f.Name, f.Delta)
		case "pull":
			s.pull(f.Room, *f.Since, f.Limit, f.ID)
		case "ping":
			s.write(`{"op":"pong","server_ts":1}`)
		}
	}
}

func (s *fakeSession) write(frame string) {
	if frozen := s.n.c.frozen; frozen != nil && frozen(s.n.k) {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = s.conn.WriteMessage(websocket.TextMessage, []byte(frame))
}

func (s *fakeSession) join(room string, since *int64, id int64) {
	c := s.n.c
	c.mu.Lock()
	rm := c.roomLocked(room)
	s.rooms[room] = true
	var ts int64
	var seq uint64
	if len(rm.msgs) > 0 {
		ts, seq = rm.msgs[len(rm.msgs)-1].ts, rm.msgs[len(rm.msgs)-1].seq
	}
	notify := since != nil && ts > *since
	s.pending[room] = notify
	if since != nil {
		s.n.resumes++
	}
	cnt := fakeCountersJSON(rm.counters)
	c.mu.Unlock()
	s.write(fmt.Sprintf(`{"op":"joined","room":"%s","epoch":"%s","ts":%d,"seq":%d,"online":1,"id":%d,"counters":%s}`, room, rm.epoch, ts, seq, id, cnt))
	if notify {
		s.write(fmt.Sprintf(`{"op":"notify","room":"%s","ts":%d}`, room, ts))
	}
	if c.pingJoin {
		s.wmu.Lock()
		_ = s.conn.WriteControl(websocket.PingMessage, []byte("hb"), time.Now().Add(time.Second))
		s.wmu.Unlock()
	}
}

// pull answers the window (since, latest]: the newest limit messages, the rest dropped. The
// write lock is held from the window to its write: a notify of a later message must not
// overtake the reply (the viewer would ignore it, its pull still in progress).
func (s *fakeSession) pull(room string, since int64, limit int, id int64) {
	c := s.n.c
	s.wmu.Lock()
	defer s.wmu.Unlock()
	c.mu.Lock()
	rm := c.roomLocked(room)
	var win []fakeMsg
	for _, m := range rm.msgs {
		if m.ts > since {
			win = append(win, m)
		}
	}
	next, nextSeq := since, uint64(0)
	if len(rm.msgs) > 0 {
		last := rm.msgs[len(rm.msgs)-1]
		next, nextSeq = max(since, last.ts), last.seq
	}
	dropped := 0
	if limit > 0 && len(win) > limit {
		dropped, win = len(win)-limit, win[len(win)-limit:]
	}
	s.pending[room] = false
	mode := c.nextSeq
	c.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, `{"op":"msgs","room":"%s","id":%d,"epoch":"%s","msgs":[`, room, id, rm.epoch)
	for i, m := range win {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ts":%d,"seq":%d,"pri":"%s","kind":"chat","uid":"","body":{"n":1}}`, m.ts, m.seq, m.pri)
	}
	fmt.Fprintf(&b, `],"dropped":%d,"next":%d`, dropped, next)
	switch mode {
	case "right":
		fmt.Fprintf(&b, `,"next_seq":%d`, nextSeq)
	case "wrong":
		fmt.Fprintf(&b, `,"next_seq":%d`, 2*nextSeq)
	}
	b.WriteString(`,"more":false}`)
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = s.conn.WriteMessage(websocket.TextMessage, []byte(b.String()))
}
