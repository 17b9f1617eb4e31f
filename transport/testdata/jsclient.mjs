// Drives the JS client (transport/web/liveroom.js, copied beside this file as liveroom.mjs by
// the Go test that runs it) under Node: node --experimental-websocket jsclient.mjs '<config>'.
//
// config: {"groups":[{"name":"six-tabs","url":"ws://...","uid":"u","clients":6,"room":"r"}],
//          "staggerMs":150,"waitMs":3000}
// Each group's clients connect one after another (staggerMs apart, so "the oldest" is well
// defined), then the script waits waitMs and prints, per client, what it saw: how many times it
// opened, its closes (code and reason), its kicks and why it stopped (null: it did not).
//
// A group may also give: "token": {"secret":S,"ttlS":N} (an HS256 token for uid, N may be
// negative: already expired), "getToken": true (a fresh token of the same ttl each time the
// client asks), "push": true (join with push), "send": N (messages to send once joined). Each
// client then also reports how many times a refresh was accepted (authed), the messages,
// notifies and pulls it saw, and the gaps in ms between a close and the next connect.
//
// Counters: a group's "likes": N has each client add 1 to the room's likes N times once joined
// (conflated by the client unless the group gives "addEvery": 0, the client's option);
// each client reports its last likes total and online ("counters" events) and the codes of its
// refused adds; with "wantLikes" the script ends as soon as every client's last total is that
// (waitMs is then the deadline).
//
// Late joiners, pins and names: a group's "recent": N joins with recent N; "token" may carry
// "name" and "meta" claims; "record": true has each client report every message it got
// (ts, seq, kind, pri, uid, cmid, name, meta, pin_until, body), each "pinned" event (the ts of the pins),
// each "online" event and its gaps. "awaitJoined": true starts the next client only once the
// one before has joined. "pinLive": {"http":"http://host:port","key":ADMIN,"room":R,"count":N}
// then, once every client started, posts N notices pinned for 600 s one after another, waits
// until every recording client's pins hold the last, unpins that one (DELETE .../pins/{ts})
// and waits until it left every recording client's pins; "wantMessages" and "wantOnline" end
// the wait as soon as every recording client has that many messages and that online.
// The script prints {"groups": {name: [seen...]}, "live": {"posted": [ts...], "unpinned": ts}}.
import { createHmac } from "node:crypto";
import { LiveRoom } from "./liveroom.mjs";

function b64url(b) { return Buffer.from(b).toString("base64url"); }
function mint(uid, { secret, ttlS, name, meta }) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub: uid, iat: now, exp: now + ttlS, name, meta }));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

const cfg = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};
const all = [];
const recorders = [];
// until polls cond every 20 ms until it holds or the deadline passes: waitMs from the start,
// and again waitMs once every client started.
let deadline = Date.now() + cfg.waitMs;
async function until(cond) {
  while (!cond() && Date.now() < deadline) await sleep(20);
  return cond();
}
for (const g of cfg.groups) {
  out[g.name] = [];
  for (let i = 0; i < g.clients; i++) {
    const seen = { opens: 0, closes: [], kicks: [], stopped: null, authed: 0, messages: 0, gaps: [], likes: null, online: null, refused: [],
      joins: 0 };
    out[g.name].push(seen);
    const opts = { url: g.url, devUid: g.uid, maxBackoffMs: 2000, push: !!g.push };
    if (g.addEvery !== undefined) opts.addEvery = g.addEvery;
    if (g.token) opts.token = mint(g.uid, g.token);
    if (g.getToken) opts.getToken = async () => mint(g.uid, g.token);
    const lr = new LiveRoom(opts);
    let closedAt = 0;
    lr.on("state", (s) => {
      if (s === "open") seen.opens++;
      if (s === "connecting" && closedAt) { seen.gaps.push(Date.now() - closedAt); closedAt = 0; }
    });
    lr.on("close", (code, reason) => { seen.closes.push([code, reason]); closedAt = Date.now(); });
    lr.on("authed", () => { seen.authed++; });
    lr.on("message", () => { seen.messages++; });
    lr.on("joined", () => { seen.joins++; });
    if (g.record) {
      Object.assign(seen, { msgs: [], pins: [], onlines: [], seqGaps: [] });
      recorders.push(seen);
      lr.on("message", (room, m) => seen.msgs.push({ ts: m.ts, seq: m.seq, kind: m.kind, pri: m.pri, uid: m.uid, cmid: m.cmid,
        name: m.name, meta: m.meta, pin_until: m.pin_until, body: m.body }));
      lr.on("pinned", (room, pins) => seen.pins.push(pins.map((p) => p.ts)));
      lr.on("online", (room, n) => seen.onlines.push(n));
      lr.on("gap", (room, n) => seen.seqGaps.push(n));
    }
    seen.stats = lr.stats;
    if (g.send) {
      lr.on("joined", async (room) => {
        for (let k = 0; k < g.send; k++) await lr.send(room, { body: { n: k } }).catch(() => {});
      });
    }
    lr.on("kick", (room, reason) => seen.kicks.push([room, reason]));
    lr.on("stopped", (reason) => { seen.stopped = reason; });
    lr.on("counters", (room, totals, online) => { seen.likes = totals.likes || 0; seen.online = online; });
    lr.on("error", (room, f) => { if (room === null) seen.refused.push(f.code); });
    if (g.likes) lr.on("joined", (room) => { for (let k = 0; k < g.likes; k++) lr.add(room, "likes", 1); });
    lr.connect();
    if (g.room) lr.join(g.room, g.recent ? { recent: g.recent } : {});
    all.push(lr);
    if (cfg.awaitJoined) await until(() => seen.joins > 0);
    await sleep(cfg.staggerMs || 0);
  }
}

deadline = Date.now() + cfg.waitMs;
const live = { posted: [], unpinned: 0 };
if (cfg.pinLive) {
  const { http, key, room, count } = cfg.pinLive;
  const call = async (method, path, body) => {
    const r = await fetch(http + path, { method, headers: { Authorization: `Bearer ${key}` }, body: body && JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const pinsHold = (ts) => recorders.every((c) => c.pins.length > 0 && c.pins[c.pins.length - 1].includes(ts));
  for (let k = 0; k < count; k++) {
    live.posted.push((await call("POST", `/v1/rooms/${room}/notices`, { kind: "notice", pin_s: 600, body: { text: `pin ${k}` } })).ts);
  }
  const last = live.posted[live.posted.length - 1];
  if (await until(() => pinsHold(last))) {
    await call("DELETE", `/v1/rooms/${room}/pins/${last}`);
    live.unpinned = last;
    await until(() => recorders.every((c) => !c.pins[c.pins.length - 1].includes(last)));
  }
}

const done = () => {
  const every = (f) => Object.values(out).every((cs) => cs.every(f));
  if (cfg.wantLikes !== undefined && !every((c) => c.likes === cfg.wantLikes)) return false;
  if (cfg.wantMessages !== undefined && !recorders.every((c) => c.msgs.length >= cfg.wantMessages)) return false;
  if (cfg.wantOnline !== undefined && !recorders.every((c) => c.onlines[c.onlines.length - 1] === cfg.wantOnline)) return false;
  return cfg.wantLikes !== undefined || cfg.wantMessages !== undefined || cfg.wantOnline !== undefined;
};
await until(done);
console.log(JSON.stringify({ groups: out, live }));
for (const lr of all) lr.close();
process.exit(0);
