// liveroom.js: a small, dependency-free client for liveroom (PROTOCOL.md), as an ES module.
//
//   import { LiveRoom } from "/v1/sdk/liveroom.js";
//   const lr = new LiveRoom({ url: "ws://host/v1/ws", token });     // or { baseURL, uid } with
//   lr.on("message", (room, msg) => ...);                             //   /v1/route, or devUid
//   lr.on("dropped", (room, n) => ...);    // messages the server skipped for this viewer
//   lr.on("state", (s) => ...);            // "connecting" | "open" | "closed"
//   lr.on("kick", (room, reason) => ...);  lr.on("joined", (room, info) => ...);
//   lr.on("stopped", (reason) => ...);     // gave up for good: "replaced" | "banned" | "unauthorized" | "expired"
//   lr.on("authed", (exp) => ...);         // a token refresh was accepted (exp: unix seconds)
//   lr.connect(); lr.join("demo");         // or lr.join("demo", { push: true, recent: 20 })
//   await lr.send("demo", { kind: "chat", body: { text: "hi" } });
//   lr.add("demo", "likes", 1);            // a counter add (PROTOCOL.md 8.4): summed, sent every
//                                          // addEvery ms (1000), no reply unless refused
//   lr.on("counters", (room, totals, online) => ...); // the oncounters callback: totals
//                                          // ({likes: 123}) and online, from joined, counters
//                                          // frames and pushed windows (online may be absent there)
//   lr.on("online", (room, n) => ...);     // the room's viewers (cluster-wide), when it changes
//   lr.on("pinned", (room, pins) => ...);  // the pinned notices in force, oldest first
//   lr.on("gap", (room, n) => ...);        // n seqs neither delivered nor counted as dropped
//   lr.on("error", (room, frame) => ...);  // a refused join (room) or add (room null)
//
// Behaviour: notify -> pull with the last `next` (again at once while `more`); every seq is
// accounted (msgs + dropped); after a disconnect it reconnects with exponential backoff and
// jitter and resumes each room with join + since; sends carry a generated cmid, reused when the
// send is retried, so a retry is never a duplicate. It does not reconnect when the server ended
// the session for a reason a reconnect cannot fix: another session of the uid took its place
// (kick "replaced", close 4029 "replaced": reconnecting would kick the next one, and tabs of one
// user would take turns for ever), a ban (kick "banned", close 4003) or a token that is no
// longer good (close 4001, kick "expired", or an upgrade refused while the token's exp has
// passed); it emits "stopped" with the reason instead, and a later connect() (say with a new
// token) starts again.
//
// Tokens: give `getToken: async () => jwt` and the client asks it for a token on every
// reconnect and before the current one expires (half its remaining life, at most 60 s before
// exp), and hands the new one to the server with op auth; after kick "expired" it reconnects
// with a fresh one instead of stopping. A whole-session kick "shutdown" with retry_ms (a node
// draining) reconnects after a random delay in [0, retry_ms], through /v1/route with baseURL.
// `push: true` (for every room, or per join) joins with push: the server writes each round's
// window itself and the client does not pull.
//
// Late joiners (PROTOCOL.md 8.3): join(room, { recent: N }) starts the room at the joined
// reply's `since`, so the N newest messages (and every protected one after them) come as
// ordinary "message" events, oldest first; a rejoin after a reconnect resumes from the last
// window instead. Every window is checked with its next_seq (8.1): msgs + dropped must be the
// seq advance, otherwise a "gap" event (never expected; a window after a recent join has no
// previous seq and sets it). Messages carry the speaker's `name` and `meta` (8.5) when the
// server stamped them.
//
// Pins: "pinned" gives the room's pinned notices in force, oldest first, on every joined (its
// `pinned`) and whenever they change: a later message with pin_until joins them (at most 8,
// the oldest out, as the room keeps them), the system message of kind "unpin" (body {ts},
// cmid "unpin:<ts>") takes one out, and a pin leaves at its pin_until (by the server's clock,
// estimated from hello's server_ts). Messages up to the joined `ts` are already in joined's
// list and do not change it. Online: "online" when the room's count changes (joined, counters
// frames, pushed windows); "counters" carries it too.
//
// Counters (PROTOCOL.md 8.4): add() does not send at once. It sums the deltas per room and
// counter and sends each sum as one add every `addEvery` ms (default 1000; 0 sends every add at
// once), split into adds of at most 100, the protocol's largest delta: a like button tapped 10
// times a second costs the server one frame a second, not 10, and stays far under the 20 adds
// a second a session may send to a room. The totals come back at most once a
// counters_interval (1 s) anyway, and a page shows its own taps at once. One second, not
// 250 ms: 10k viewers tapping 5 times a second were within reach of the chat's latency
// summed per second (10k frames/s) and not every 250 ms (24k frames/s: chat p99 9.4 s;
// docs/benchmarks.md "Likes"). Sums are sent before a leave() and a close(); sums of a room whose session
// dropped wait for its rejoin (an add already sent when the connection dropped may be lost,
// as any add without id).

/**
 * @typedef {{ts:number, seq:number, pri:string, kind:string, uid:string, cmid?:string,
 *            name?:string, meta?:Object<string, any>, pin_until?:number, body:any}} Message
 */

// The room keeps at most this many pinned notices; a ninth unpins the oldest (PROTOCOL.md 8.3).
const MAX_PINS = 8;
// The largest delta of one add (PROTOCOL.md 8.4): a bigger sum goes as several adds.
const MAX_ADD_DELTA = 100;

export class LiveRoom {
  /**
   * @param {{url?:string, baseURL?:string, uid?:string, token?:string, devUid?:string,
   *          getToken?:() => Promise<string>|string, push?:boolean,
   *          pullLimit?:number, maxBackoffMs?:number, addEvery?:number}} opts
   */
  constructor(opts) {
    this.opts = Object.assign({ pullLimit: 100, maxBackoffMs: 10000, addEvery: 1000 }, opts || {});
    this.handlers = {};
    this.rooms = new Map(); // room -> roomState (see join)
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.nextId = 1;
    this.ws = null;
    this.backoff = 250;
    this.closedByUser = false;
    this.stopped = null; // why the client gave up (see "stopped"), or null
    this.stopReason = null; // a whole-session kick that ends it, seen before the close
    this.retryMs = null; // a kick "shutdown" said when to come back: a delay in [0, retryMs]
    this.opened = false; // the current connection got its hello
    this.reconnecting = false; // a connection was tried before: getToken gives the next token
    this.refreshTimer = null;
    this.state = "closed";
    this.clockOffset = 0; // the server's clock minus ours, in microseconds (from hello)
    this.adds = new Map(); // room -> Map(counter -> delta summed, not sent yet)
    this.addTimer = null;
    this.stats = { messages: 0, dropped: 0, gaps: 0, notifies: 0, pulls: 0, taps: 0, adds: 0 };
  }

  /** Subscribe to an event. */
  on(event, fn) {
    (this.handlers[event] = this.handlers[event] || []).push(fn);
    return this;
  }

  emit(event, ...args) {
    for (const fn of this.handlers[event] || []) {
      try { fn(...args); } catch (e) { console.error("liveroom handler", e); }
    }
  }

  setState(s) {
    if (this.state !== s) { this.state = s; this.emit("state", s); }
  }

  /** Open the connection (and keep it open until close()). */
  async connect() {
    this.closedByUser = false;
    this.stopped = null;
    this.stopReason = null;
    this.setState("connecting");
    let url;
    try {
      const o = this.opts;
      if (o.getToken && (this.reconnecting || !o.token || tokenExpired(o.token))) o.token = await o.getToken();
      url = await this.wsURL();
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    if (this.opts.token && tokenExpired(this.opts.token)) { // the server would refuse it (401) for ever
      this.stop("expired");
      return;
    }
    this.reconnecting = true;
    this.opened = false;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(new Error("connection closed")); }
      this.pending.clear();
      for (const r of this.rooms.values()) { r.joined = false; r.pulling = false; r.again = false; }
      clearTimeout(this.refreshTimer);
      this.setState("closed");
      this.emit("close", ev.code, ev.reason);
      if (this.closedByUser) return;
      let stop = this.stopReason || stopReasonOf(ev.code, ev.reason);
      if (!stop && !this.opened && this.opts.token && tokenExpired(this.opts.token)) stop = "expired"; // upgrade refused: 401
      if (stop === "expired" && this.opts.getToken) stop = null; // a fresh token fixes it
      this.stopReason = null;
      if (stop) { this.stop(stop); return; }
      if (this.retryMs !== null) { // a draining node: come back within retry_ms
        const delay = Math.random() * this.retryMs;
        this.retryMs = null;
        this.backoff = 250;
        setTimeout(() => { if (!this.closedByUser && !this.stopped) this.connect(); }, delay);
        return;
      }
      if (ev.code === 4029) this.backoff = this.opts.maxBackoffMs; // connection rate exceeded
      this.scheduleReconnect();
    };
  }

  stop(reason) {
    this.stopped = reason;
    this.setState("closed");
    this.emit("stopped", reason);
  }

  // scheduleRefresh asks getToken for a new token before the current one expires and hands it
  // to the server (op auth); a refusal leaves the session to end at the old token's expiry.
  scheduleRefresh(exp) {
    clearTimeout(this.refreshTimer);
    if (!this.opts.getToken || !exp) return;
    const left = exp * 1000 - Date.now();
    const ws = this.ws;
    this.refreshTimer = setTimeout(async () => {
      try {
        const token = await this.opts.getToken();
        if (this.ws !== ws) return;
        const r = await this.request({ op: "auth", token });
        if (r.op !== "authed") { this.emit("error", null, r); return; }
        this.opts.token = token;
        this.emit("authed", r.exp);
        this.scheduleRefresh(r.exp);
      } catch (e) {
        // the connection dropped: the reconnect asks for a token anyway
      }
    }, Math.min(2147483647, Math.max(0, left - Math.min(60000, left / 2)))); // setTimeout's largest delay
  }

  async wsURL() {
    const o = this.opts;
    let base = o.url;
    if (!base && o.baseURL) {
      const r = await fetch(`${o.baseURL.replace(/\/$/, "")}/v1/route?uid=${encodeURIComponent(o.uid || o.devUid)}`);
      if (!r.ok) throw new Error(`route: HTTP ${r.status}`);
      base = (await r.json()).ws;
    }
    if (!base) throw new Error("liveroom: give url, or baseURL and uid");
    const q = o.token ? `token=${encodeURIComponent(o.token)}` : `uid=${encodeURIComponent(o.devUid || o.uid)}`;
    return base + (base.includes("?") ? "&" : "?") + q;
  }

  scheduleReconnect() {
    const delay = Math.random() * this.backoff; // full jitter
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
    setTimeout(() => { if (!this.closedByUser && !this.stopped) this.connect(); }, delay);
  }

  /** Close for good (no reconnect). */
  close() {
    this.flushAdds();
    this.closedByUser = true;
    for (const r of this.rooms.values()) clearTimeout(r.pinTimer);
    clearTimeout(this.addTimer);
    this.addTimer = null;
    this.adds.clear();
    if (this.ws) this.ws.close(1000);
  }

  request(frame, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) { reject(new Error("not connected")); return; }
      const id = this.nextId++;
      frame.id = id;
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error("timeout")); }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify(frame));
    });
  }

  /**
   * Join a room. `since` resumes after a ts (new messages after it are pulled); `recent: N`
   * (0 to the server's pull_limit) starts just before the N newest messages, which then come
   * as "message" events; `since` wins over `recent`. `push` overrides the client's option.
   */
  join(room, opts = {}) {
    const push = opts.push ?? !!this.opts.push;
    if (!this.rooms.has(room)) {
      this.rooms.set(room, {
        since: opts.since ?? null, // the since of the next pull and of a rejoin
        recent: opts.since === undefined ? opts.recent || 0 : 0, // sent on the first join only
        seq: null, // the seq at since in this epoch; null: not known yet (set by the next window)
        epoch: null, pulling: false, again: false, joined: false, push,
        pins: [], pinsAt: 0, pinTimer: null, // pinned notices, as of the joined ts pinsAt
        online: undefined,
      });
    }
    if (this.state === "open") return this.doJoin(room);
    return Promise.resolve(null);
  }

  async doJoin(room) {
    const r = this.rooms.get(room);
    const frame = { op: "join", room };
    if (r.since !== null) frame.since = r.since;
    else if (r.recent > 0) frame.recent = r.recent;
    if (r.push) frame.push = true;
    const j = await this.request(frame);
    if (this.rooms.get(room) !== r) return j; // left meanwhile
    if (j.op !== "joined") { this.emit("error", room, j); return j; }
    if (r.epoch !== null && r.epoch !== j.epoch) r.seq = 0; // the history restarted at seq 1
    if (r.since === null) {
      if (typeof j.since === "number") { r.since = j.since; r.seq = j.since === 0 ? 0 : null; }
      else { r.since = j.ts; r.seq = j.seq; }
    }
    r.epoch = j.epoch;
    r.joined = true;
    this.emit("joined", room, j);
    r.pinsAt = j.ts;
    this.setPins(room, r, Array.isArray(j.pinned) ? j.pinned : []);
    this.setOnline(room, r, j.online);
    if (j.counters) this.emit("counters", room, j.counters, j.online);
    if (this.adds.has(room)) this.flushAdds(room); // sums that waited for the rejoin
    return j;
  }

  /** Leave a room. */
  async leave(room) {
    this.flushAdds(room);
    this.adds.delete(room);
    const r = this.rooms.get(room);
    if (r) clearTimeout(r.pinTimer);
    this.rooms.delete(room);
    if (this.state === "open") return this.request({ op: "leave", room });
  }

  /** The room's pinned notices in force, oldest first (as the last "pinned" event gave them). */
  pinned(room) {
    const r = this.rooms.get(room);
    return r ? r.pins.slice() : [];
  }

  /** Send a message; retried sends reuse their cmid. */
  async send(room, { kind = "chat", body, pri, cmid } = {}) {
    const frame = { op: "send", room, kind, body, cmid: cmid || newCmid() };
    if (pri) frame.pri = pri;
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await this.request(frame);
        if (r.op === "error") throw Object.assign(new Error(r.message), { code: r.code });
        return r;
      } catch (e) {
        lastErr = e;
        if (e.code) throw e; // the server answered: do not retry
        await sleep(250 * (attempt + 1));
      }
    }
    throw lastErr;
  }

  /**
   * Add delta (a positive integer) to a counter of a joined room (PROTOCOL.md 8.4): summed
   * with the room's other adds to that counter and sent within addEvery ms (see above).
   * Returns false when not connected (nothing counted); refusals come as "error" events.
   */
  add(room, counter, delta = 1) {
    if (!Number.isSafeInteger(delta) || delta < 1) throw new RangeError("liveroom: add delta must be a positive integer");
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.stats.taps += delta;
    let sums = this.adds.get(room);
    if (!sums) this.adds.set(room, (sums = new Map()));
    sums.set(counter, (sums.get(counter) || 0) + delta);
    if (!(this.opts.addEvery > 0)) this.flushAdds(room);
    else if (this.addTimer === null) this.addTimer = setTimeout(() => { this.addTimer = null; this.flushAdds(); }, this.opts.addEvery);
    return true;
  }

  // flushAdds sends the summed adds of room (of every room without one), each sum as adds of
  // at most 100. A room the client knows but whose session is not joined keeps its sums for
  // the rejoin; so does every room while the connection is down.
  flushAdds(room) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (const name of room === undefined ? [...this.adds.keys()] : [room]) {
      const sums = this.adds.get(name), r = this.rooms.get(name);
      if (!sums || (r && !r.joined)) continue;
      this.adds.delete(name);
      for (const [counter, sum] of sums) {
        for (let left = sum; left > 0; left -= MAX_ADD_DELTA) {
          this.stats.adds++;
          this.ws.send(JSON.stringify({ op: "add", room: name, counter, delta: Math.min(left, MAX_ADD_DELTA) }));
        }
      }
    }
  }

  // pull pulls the room's window from since, again at once while `more`; a notify that comes
  // while a pull is out is answered by one more pull when it is back (the server's mark may
  // have been set after the pull it saw).
  async pull(room) {
    const r = this.rooms.get(room);
    if (!r || !r.joined) return;
    if (r.pulling) { r.again = true; return; }
    r.pulling = true;
    try {
      do {
        r.again = false;
        for (;;) {
          this.stats.pulls++;
          const m = await this.request({ op: "pull", room, since: r.since, limit: this.opts.pullLimit });
          if (m.op !== "msgs" || this.rooms.get(room) !== r) return;
          this.onWindow(room, r, m);
          if (!m.more) break;
        }
      } while (r.again && r.joined);
    } catch (e) {
      // the connection dropped: resume after reconnect
    } finally {
      r.pulling = false;
    }
  }

  // onWindow accounts a window (a pull's reply or a pushed one) and delivers its messages.
  onWindow(room, r, m) {
    if (m.epoch && r.epoch !== m.epoch) { r.epoch = m.epoch; r.seq = 0; }
    const counted = m.msgs.length + (m.dropped || 0);
    if (Number.isFinite(m.next_seq) && m.next_seq > 0) {
      if (r.seq !== null && m.next_seq !== r.seq + counted) {
        this.stats.gaps++;
        this.emit("gap", room, m.next_seq - r.seq - counted);
      }
      r.seq = m.next_seq;
    } else if (r.seq !== null) {
      r.seq += counted; // a v1 server: no next_seq
    }
    if (m.dropped > 0) { this.stats.dropped += m.dropped; this.emit("dropped", room, m.dropped); }
    let pins = false;
    for (const msg of m.msgs) pins = this.deliver(room, r, msg) || pins;
    if (pins) this.setPins(room, r, r.pins);
    if (m.next > r.since) r.since = m.next;
  }

  // deliver emits one message and reports whether it changed the room's pins.
  deliver(room, r, msg) {
    this.stats.messages++;
    this.emit("message", room, msg);
    if (msg.pri === "system") this.emit("notice", room, msg);
    if (msg.ts <= r.pinsAt) return false; // already in joined's pinned
    if (msg.pin_until) {
      r.pins = r.pins.filter((p) => p.ts !== msg.ts).concat([msg]).slice(-MAX_PINS);
      return true;
    }
    if (msg.kind === "unpin" && msg.pri === "system") {
      const ts = unpinnedTs(msg);
      const left = r.pins.filter((p) => p.ts !== ts);
      if (left.length !== r.pins.length) { r.pins = left; return true; }
    }
    return false;
  }

  // setPins drops the pins whose pin_until has passed, emits "pinned" with the rest and
  // schedules the next expiry.
  setPins(room, r, pins) {
    clearTimeout(r.pinTimer);
    const now = Date.now() * 1000 + this.clockOffset;
    r.pins = pins.filter((p) => !(p.pin_until <= now));
    this.emit("pinned", room, r.pins.slice());
    const next = Math.min(...r.pins.map((p) => p.pin_until || Infinity));
    if (next === Infinity) return;
    r.pinTimer = setTimeout(() => {
      if (this.rooms.get(room) === r) this.setPins(room, r, r.pins);
    }, Math.min(2147483647, Math.max(0, (next - now) / 1000 + 1)));
  }

  setOnline(room, r, n) {
    if (!Number.isFinite(n) || n === r.online) return;
    r.online = n;
    this.emit("online", room, n);
  }

  onFrame(data) {
    let f;
    try { f = JSON.parse(data); } catch (e) { return; }
    if (f.id !== undefined && this.pending.has(f.id)) {
      const p = this.pending.get(f.id);
      this.pending.delete(f.id);
      clearTimeout(p.timer);
      p.resolve(f);
      return;
    }
    switch (f.op) {
      case "hello":
        this.backoff = 250;
        this.hello = f;
        if (Number.isFinite(f.server_ts)) this.clockOffset = f.server_ts - Date.now() * 1000;
        this.opened = true;
        this.setState("open");
        if (this.opts.token) this.scheduleRefresh(tokenExp(this.opts.token));
        for (const room of this.rooms.keys()) this.doJoin(room).catch(() => {});
        break;
      case "notify":
        this.stats.notifies++;
        this.pull(f.room);
        break;
      case "msgs": { // a pushed window (join with push)
        const r = this.rooms.get(f.room);
        if (!r) break;
        this.onWindow(f.room, r, f);
        this.setOnline(f.room, r, f.online);
        if (f.counters) this.emit("counters", f.room, f.counters, f.online);
        break;
      }
      case "push": { // one message pushed as it is (a server built with -tags pusheach)
        const r = this.rooms.get(f.room);
        if (r && f.msg && this.deliver(f.room, r, f.msg)) this.setPins(f.room, r, r.pins);
        break;
      }
      case "counters": {
        const r = this.rooms.get(f.room);
        if (!r) break;
        this.setOnline(f.room, r, f.online);
        this.emit("counters", f.room, f.counters, f.online);
        break;
      }
      case "error": // an add without id that was refused
        this.emit("error", null, f);
        break;
      case "kick":
        if (f.room) {
          const r = this.rooms.get(f.room);
          if (r) r.joined = false;
          if (r && f.reason === "banned") { clearTimeout(r.pinTimer); this.rooms.delete(f.room); } // a rejoin would be refused
        } else if (STOP_KICKS.has(f.reason)) {
          this.stopReason = f.reason; // the close that follows ends the client
        } else if (f.reason === "shutdown" && Number.isFinite(f.retry_ms) && f.retry_ms >= 0) {
          this.retryMs = Math.min(f.retry_ms, 600000);
        }
        this.emit("kick", f.room || null, f.reason);
        break;
    }
  }
}

// Whole-session kicks after which reconnecting cannot help (PROTOCOL.md section 3).
const STOP_KICKS = new Set(["replaced", "banned", "forbidden", "unauthorized", "expired"]);

// stopReasonOf maps a close to the reason the client stops for good, or null to reconnect:
// 4001 unauthorized (a new token is needed), 4003 banned, 4029 with reason "replaced" (the
// per-uid session cap; 4029 otherwise is a connection rate limit, retried after a long backoff).
function stopReasonOf(code, reason) {
  if (code === 4001) return "unauthorized";
  if (code === 4003) return "banned";
  if (code === 4029 && reason === "replaced") return "replaced";
  return null;
}

// tokenExp is a JWT's exp claim (unix seconds), or 0 when it cannot be read. The client does
// not verify the token (the server does); it only needs to know when it ends.
function tokenExp(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4))).exp;
    return Number.isFinite(exp) ? exp : 0;
  } catch (e) {
    return 0;
  }
}

function tokenExpired(token) {
  const exp = tokenExp(token);
  return exp > 0 && exp * 1000 <= Date.now();
}

// unpinnedTs is the ts an unpin notice takes out: its body's ts, else its cmid's "unpin:<ts>".
function unpinnedTs(msg) {
  if (msg.body && Number.isFinite(msg.body.ts)) return msg.body.ts;
  const m = /^unpin:(\d+)$/.exec(msg.cmid || "");
  return m ? Number(m[1]) : null;
}

function newCmid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
