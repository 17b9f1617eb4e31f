// Tests of the JS client's counter adds (../liveroom.js: add, addEvery) against a fake
// WebSocket and Node's mock timers, run by package_test.go as `node liveroom_add_test.mjs`
// (node:test sets the exit code on a failure). The real server's side is
// transport/e2e_jsclient_node_test.go.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { LiveRoom } from "../liveroom.js";

// FakeWS is the browser WebSocket as far as the client uses it; recv plays a server frame.
class FakeWS {
  static OPEN = 1;
  static all = [];
  constructor(url) { this.url = url; this.readyState = FakeWS.OPEN; this.sent = []; this.closed = null; FakeWS.all.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.readyState = 3; this.closed = code; }
  recv(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  drop() { this.readyState = 3; this.onclose({ code: 1006, reason: "" }); }
  adds() { return this.sent.filter((f) => f.op === "add").map((f) => [f.room, f.counter, f.delta]); }
}
globalThis.WebSocket = FakeWS;

const settle = () => new Promise((r) => setImmediate(r)); // lets the client's awaits run

// open connects a client and joins rooms (answering each join), and returns it with its socket.
async function open(opts, ...rooms) {
  const lr = new LiveRoom(Object.assign({ url: "ws://test/v1/ws", devUid: "u" }, opts));
  for (const room of rooms) lr.join(room);
  await lr.connect();
  const ws = FakeWS.all[FakeWS.all.length - 1];
  ws.recv({ op: "hello", uid: "u", server_ts: Date.now() * 1000 });
  await answerJoins(ws);
  return { lr, ws };
}

async function answerJoins(ws) {
  for (const f of ws.sent.filter((f) => f.op === "join" && !f.answered)) {
    f.answered = true;
    ws.recv({ op: "joined", room: f.room, id: f.id, epoch: "e", ts: 1, seq: 0, online: 1, pinned: [] });
  }
  await settle();
}

test("add sums per room and counter and sends each sum once per addEvery", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const { lr, ws } = await open({}, "a", "b");
  for (let i = 0; i < 10; i++) assert.equal(lr.add("a", "likes"), true);
  lr.add("a", "gift_value", 3);
  lr.add("b", "likes", 2);
  mock.timers.tick(999);
  assert.deepEqual(ws.adds(), [], "nothing before addEvery (1 s by default)");
  mock.timers.tick(1);
  assert.deepEqual(ws.adds(), [["a", "likes", 10], ["a", "gift_value", 3], ["b", "likes", 2]]);
  lr.add("a", "likes", 1);
  mock.timers.tick(1000);
  assert.deepEqual(ws.adds().slice(3), [["a", "likes", 1]], "the next interval's sum");
  mock.timers.tick(5000);
  assert.equal(ws.adds().length, 4, "no add without taps");
  assert.deepEqual([lr.stats.taps, lr.stats.adds], [16, 4]);
  assert.ok(ws.sent.every((f) => f.op !== "add" || f.id === undefined), "adds carry no id");
});

test("a sum over 100 goes as adds of at most 100", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const { lr, ws } = await open({ addEvery: 250 }, "a");
  lr.add("a", "likes", 60);
  lr.add("a", "likes", 190);
  mock.timers.tick(250);
  assert.deepEqual(ws.adds(), [["a", "likes", 100], ["a", "likes", 100], ["a", "likes", 50]]);
  assert.deepEqual([lr.stats.taps, lr.stats.adds], [250, 3]);
});

test("leave and close send the sums first", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const { lr, ws } = await open({}, "a", "b");
  lr.add("a", "likes", 5);
  lr.add("b", "likes", 7);
  lr.leave("a").catch(() => {});
  assert.deepEqual(ws.sent.filter((f) => f.op !== "join").map((f) => [f.op, f.room]), [["add", "a"], ["leave", "a"]]);
  lr.close();
  assert.deepEqual(ws.adds(), [["a", "likes", 5], ["b", "likes", 7]]);
  assert.equal(ws.closed, 1000);
  mock.timers.tick(1000);
  assert.equal(ws.adds().length, 2, "nothing sent twice");
});

test("sums wait for the room's join, also across a reconnect", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const { lr, ws } = await open({ addEvery: 250 }, "a");
  lr.add("a", "likes", 4);
  ws.drop();
  mock.timers.tick(250); // the interval ends while disconnected
  assert.equal(lr.add("a", "likes", 9), false, "not connected: not counted");
  assert.deepEqual(ws.adds(), []);
  mock.timers.tick(300); // the reconnect (backoff up to 250 ms)
  await settle();
  const ws2 = FakeWS.all[FakeWS.all.length - 1];
  assert.notEqual(ws2, ws);
  ws2.recv({ op: "hello", uid: "u", server_ts: Date.now() * 1000 });
  lr.add("a", "likes", 2); // rejoin sent, not answered yet
  mock.timers.tick(250);
  assert.deepEqual(ws2.adds(), [], "not joined yet");
  await answerJoins(ws2);
  assert.deepEqual(ws2.adds(), [["a", "likes", 6]]);
  assert.deepEqual([lr.stats.taps, lr.stats.adds], [6, 1]);
  lr.close();
});

test("addEvery 0 sends every add at once; bad deltas throw", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const { lr, ws } = await open({ addEvery: 0 }, "a");
  lr.add("a", "likes");
  lr.add("a", "likes", 120);
  assert.deepEqual(ws.adds(), [["a", "likes", 1], ["a", "likes", 100], ["a", "likes", 20]]);
  for (const bad of [0, -1, 1.5, "2", NaN]) assert.throws(() => lr.add("a", "likes", bad), RangeError, String(bad));
  assert.equal(lr.stats.taps, 121);
  lr.close();
});
