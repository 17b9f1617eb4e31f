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
// Counters: a group's "likes": N has each client add 1 to the room's likes N times once joined;
// each client reports its last likes total and online ("counters" events) and the codes of its
// refused adds; with "wantLikes" the script ends as soon as every client's last total is that
// (waitMs is then the deadline).
import { createHmac } from "node:crypto";
import { LiveRoom } from "./liveroom.mjs";

function b64url(b) { return Buffer.from(b).toString("base64url"); }
function mint(uid, { secret, ttlS }) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub: uid, iat: now, exp: now + ttlS }));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

const cfg = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};
const all = [];
for (const g of cfg.groups) {
  out[g.name] = [];
  for (let i = 0; i < g.clients; i++) {
    const seen = { opens: 0, closes: [], kicks: [], stopped: null, authed: 0, messages: 0, gaps: [], likes: null, online: null, refused: [] };
    out[g.name].push(seen);
    const opts = { url: g.url, devUid: g.uid, maxBackoffMs: 2000, push: !!g.push };
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
    if (g.room) lr.join(g.room);
    all.push(lr);
    await sleep(cfg.staggerMs);
  }
}
const until = Date.now() + cfg.waitMs;
const done = () => cfg.wantLikes !== undefined && Object.values(out).every((cs) => cs.every((c) => c.likes === cfg.wantLikes));
while (Date.now() < until && !done()) await sleep(20);
console.log(JSON.stringify(out));
for (const lr of all) lr.close();
process.exit(0);
