// Tests of the demo page's pure helpers (../demo_view.js), run by demo_test.go as
// `node demo_view_test.mjs` with TZ=UTC (node:test sets the exit code on a failure).
import { test } from "node:test";
import assert from "node:assert/strict";
import { avatarOf, displayName, formatCount, hueOf, initialsOf, Likes, textOf, timeOf } from "../demo_view.js";

test("displayName: the stamped name, else the uid, else app", () => {
  assert.equal(displayName({ uid: "u1", name: "Ana ✨" }), "Ana ✨");
  assert.equal(displayName({ uid: "u1", name: "  " }), "u1");
  assert.equal(displayName({ uid: "u1" }), "u1");
  assert.equal(displayName({ uid: "" }), "app");
});

test("textOf: body.text, a string body, or the JSON", () => {
  assert.equal(textOf({ body: { text: "hi" } }), "hi");
  assert.equal(textOf({ body: { text: 7 } }), "7");
  assert.equal(textOf({ body: "plain" }), "plain");
  assert.equal(textOf({ body: { n: 1 } }), '{"n":1}');
  assert.equal(textOf({}), "");
});

test("avatarOf: meta.avatar only when the page may load it; initials and a stable hue always", () => {
  const f = (avatar, want) => assert.equal(avatarOf({ uid: "u", name: "Ana Bell", meta: { avatar } }).url, want, String(avatar));
  f("https://cdn.example/a.png", "https://cdn.example/a.png");
  f("/avatars/a.png", "/avatars/a.png");
  f("data:image/png;base64,iVBO", "data:image/png;base64,iVBO");
  f("http://cdn.example/a.png", null); // not https: the page's img-src refuses it
  f("javascript:alert(1)", null);
  f("//evil.example/a.png", null);
  f("data:text/html,<b>", null);
  f(42, null);
  assert.equal(avatarOf({ uid: "u" }).url, null);
  const a = avatarOf({ uid: "u7", name: "Ana Bell" });
  assert.equal(a.initials, "AB");
  assert.equal(a.hue, hueOf("u7"));
  assert.equal(avatarOf({ uid: "u7", name: "Other" }).hue, a.hue, "the hue is the speaker's, not the name's");
});

test("initialsOf and hueOf", () => {
  assert.equal(initialsOf("ana"), "AN");
  assert.equal(initialsOf("ana bell"), "AB");
  assert.equal(initialsOf("viewer-3k9x"), "V3");
  assert.equal(initialsOf("😀 smile"), "😀S"); // a code point, not half a surrogate pair
  assert.equal(initialsOf(""), "?");
  for (const s of ["", "u1", "u2", "a much longer uid"]) {
    const h = hueOf(s);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 360, `${s}: ${h}`);
  }
  assert.notEqual(hueOf("u1"), hueOf("u2"));
});

test("timeOf: a ts in microseconds as HH:MM (TZ=UTC)", () => {
  assert.equal(process.env.TZ, "UTC");
  assert.equal(timeOf(Date.UTC(2025, 0, 2, 9, 5, 59) * 1000 + 999), "09:05");
  assert.equal(timeOf(Date.UTC(2025, 0, 2, 23, 59) * 1000), "23:59");
});

test("formatCount: rounded down, never up", () => {
  const f = (n, want) => assert.equal(formatCount(n), want, String(n));
  f(0, "0"); f(999, "999"); f(1000, "1k"); f(1299, "1.2k"); f(9999, "9.9k"); f(12345, "12k");
  f(999999, "999k"); f(1e6, "1M"); f(1250000, "1.2M"); f(2.5e9, "2.5B"); f(-1500, "-1.5k"); f(NaN, "0");
});

test("Likes: own taps show at once, other viewers' likes float hearts, refusals are taken back", () => {
  const l = new Likes(5);
  l.joined(100);
  assert.equal(l.shown, 100);
  l.tap(); l.tap(); l.tap();
  assert.equal(l.shown, 103);
  assert.equal(l.update(102), 0, "two of our three taps are in the total: no hearts for them");
  assert.equal(l.shown, 103);
  assert.equal(l.update(110), 5, "our last tap and 7 others: hearts capped at 5");
  assert.equal(l.shown, 110);
  l.tap();
  assert.equal(l.refused(), 110, "a refused add is never in a total");
  assert.equal(l.update(110), 0);
  assert.equal(l.update(90), 0, "a total set lower (PUT) floats nothing");
  assert.equal(l.shown, 90);
  l.tap();
  l.joined(95); // a reconnect: the tap is in the new total or was lost
  assert.equal(l.shown, 95);
  const fresh = new Likes();
  assert.equal(fresh.update(50), 0, "a first total is not a burst of likes");
  assert.equal(fresh.shown, 50);
});
