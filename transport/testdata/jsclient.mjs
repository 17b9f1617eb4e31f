// Drives the JS client (transport/web/liveroom.js, copied beside this file as liveroom.mjs by
// the Go test that runs it) under Node: node --experimental-websocket jsclient.mjs '<config>'.
//
// config: {"groups":[{"name":"six-tabs","url":"ws://...","uid":"u","clients":6,"room":"r"}],
//          "staggerMs":150,"waitMs":3000}
// Each group's clients connect one after another (staggerMs apart, so "the oldest" is well
// defined), then the script waits waitMs and prints, per client, what it saw: how many times it
// opened, its closes (code and reason), its kicks and why it stopped (null: it did not).
// Counters: a group's "likes": N has each client add 1 to the room's likes N times once joined;
// each client reports its last likes total and online ("counters" events) and the codes of its
// refused adds; with "wantLikes" the script ends as soon as every client's last total is that
// (waitMs is then the deadline).
import { LiveRoom } from "./liveroom.mjs";

const cfg = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};
const all = [];
for (const g of cfg.groups) {
  out[g.name] = [];
  for (let i = 0; i < g.clients; i++) {
    const seen = { opens: 0, closes: [], kicks: [], stopped: null, likes: null, online: null, refused: [] };
    out[g.name].push(seen);
    const lr = new LiveRoom({ url: g.url, devUid: g.uid, maxBackoffMs: 2000 });
    lr.on("state", (s) => { if (s === "open") seen.opens++; });
    lr.on("close", (code, reason) => seen.closes.push([code, reason]));
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
