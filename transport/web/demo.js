// The demo page (index.html, served at / in --dev mode): what a streaming app shows around a
// live video, over the JS client: flying comments, a chat list with names, avatars and times
// (the last 20 messages on join), pinned notices (also for late joiners), the online count, a
// like button with floating hearts and the live total, the gift total, a visible reconnecting
// state, and the developer counters behind the "dev" toggle. The formatting is demo_view.js.
import { LiveRoom } from "/v1/sdk/liveroom.js";
import { avatarOf, displayName, formatCount, Likes, textOf, timeOf } from "/demo_view.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const room = params.get("room") || "demo";
const uid = params.get("uid") || "viewer-" + Math.random().toString(36).slice(2, 8);
$("roomName").textContent = room;
$("me").textContent = uid;

// Render at most what a person can read: a few flying comments a second and a chat list that
// keeps the last 100 lines, updated once per animation frame. The rest is counted as skipped.
const MAX_FLY_PER_SEC = 8, LANES = 10, MAX_CHAT = 100, RECENT = 20, MAX_HEARTS_ON_SCREEN = 40;
let queue = [], flyBudget = MAX_FLY_PER_SEC, shown = 0, skipped = 0, inCount = 0, lane = 0;
setInterval(() => {
  flyBudget = MAX_FLY_PER_SEC;
  $("rate").textContent = inCount;
  inCount = 0;
}, 1000);

const lr = new LiveRoom({ url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`, devUid: uid });
const likes = new Likes();
let wasOpen = false;
let historyUntil = 0; // messages up to the last joined ts are history: listed, not flown

lr.on("state", (s) => {
  const el = $("state");
  el.textContent = s;
  el.className = s;
  if (s === "open") wasOpen = true;
  if (!lr.stopped) banner(s !== "open" && wasOpen ? "Reconnecting…" : null);
});
lr.on("stopped", (reason) => {
  banner("Disconnected: " + reason + (reason === "replaced" ? " (another tab of this user took the session)" : ""));
  addChat({ pri: "system", uid: "", body: { text: `disconnected for good: ${reason}` } });
});
lr.on("joined", (r, j) => {
  historyUntil = j.ts;
  likes.joined((j.counters && j.counters.likes) || 0);
  showLikes();
  if (j.counters && "gift_value" in j.counters) $("gifts").textContent = formatCount(j.counters.gift_value);
});
lr.on("online", (r, n) => { $("online").textContent = formatCount(n); });
lr.on("pinned", (r, pins) => showPins(pins));
lr.on("message", (r, m) => { inCount++; queue.push(m); });
lr.on("counters", (r, c) => {
  if ("likes" in c) floatHearts(likes.update(c.likes));
  showLikes();
  if ("gift_value" in c) $("gifts").textContent = formatCount(c.gift_value);
});
lr.on("error", (r, f) => { if (r === null && f && f.code === "rate_limited") showLikes(likes.refused()); });
lr.on("kick", (r, reason) => addChat({ pri: "system", uid: "", body: { text: `kicked: ${reason}` } }));
lr.connect();
lr.join(room, { recent: RECENT });

$("like").addEventListener("click", () => {
  if (!lr.add(room, "likes", 1)) return; // not connected: nothing sent, nothing counted
  likes.tap();
  showLikes();
  floatHearts(1, true);
});

$("devToggle").addEventListener("click", () => {
  const panel = $("panel");
  panel.hidden = !panel.hidden;
  $("devToggle").setAttribute("aria-expanded", String(!panel.hidden));
});

function banner(text) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
}

function showLikes() { $("likes").textContent = formatCount(likes.shown); }

// Floating hearts: n rise from the like button (own taps in the accent colour), with a bound
// on how many are on screen so a flood of likes costs nothing.
function floatHearts(n, own = false) {
  const box = $("hearts");
  for (let i = 0; i < n && box.childElementCount < MAX_HEARTS_ON_SCREEN; i++) {
    const h = document.createElement("span");
    h.className = "heart" + (own ? " own" : "");
    h.textContent = "❤";
    h.style.right = (8 + Math.random() * 40) + "px";
    h.style.animationDelay = (i * 120) + "ms";
    h.addEventListener("animationend", () => h.remove());
    box.append(h);
  }
}

function avatar(m) {
  const a = avatarOf(m);
  const ph = document.createElement("span");
  ph.className = "avatar";
  ph.textContent = a.initials;
  ph.style.background = `hsl(${a.hue} 55% 45%)`;
  if (!a.url) return ph;
  const img = document.createElement("img");
  img.className = "avatar";
  img.alt = "";
  img.src = a.url;
  img.addEventListener("error", () => img.replaceWith(ph));
  return img;
}

function addChat(m) {
  const li = document.createElement("li");
  if (m.pri === "system") {
    li.className = "system";
    li.textContent = "[notice] " + textOf(m);
  } else {
    const who = document.createElement("b");
    who.textContent = displayName(m);
    const line = document.createElement("div");
    line.className = "line";
    line.append(who);
    if (m.ts) {
      const t = document.createElement("time");
      t.textContent = timeOf(m.ts);
      t.dateTime = new Date(Math.floor(m.ts / 1000)).toISOString();
      line.append(t);
    }
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = (m.kind === "gift" ? "🎁 " : "") + textOf(m);
    line.append(body);
    li.append(avatar(m), line);
    if (m.pri === "high") li.className = "high";
  }
  const chat = $("chat");
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
  chat.append(li);
  while (chat.children.length > MAX_CHAT) chat.firstChild.remove();
  if (atBottom) chat.scrollTop = chat.scrollHeight; // a reader who scrolled up stays there
}

// Pinned notices (PROTOCOL.md 8.3) stay on top until their pin_until or an unpin notice,
// oldest first, as the client's "pinned" events give them (from joined for a late joiner).
function showPins(pins) {
  $("pinned").replaceChildren(...pins.map((p) => {
    const d = document.createElement("div");
    d.textContent = "📌 " + textOf(p);
    return d;
  }));
}

function notice(m) {
  const n = document.createElement("div");
  n.className = "notice";
  n.textContent = textOf(m);
  const box = $("notices");
  box.prepend(n);
  while (box.children.length > 3) box.lastChild.remove();
  setTimeout(() => n.remove(), 30000);
}

function fly(m) {
  const d = document.createElement("div");
  d.className = "dm" + (m.pri === "high" ? " high" : "");
  d.textContent = textOf(m);
  d.style.top = (14 + (lane++ % LANES) * 6) + "%";
  d.addEventListener("animationend", () => d.remove());
  $("stage").append(d);
}

// Frames rendered in the last second (the browser test checks the page stays smooth).
let frames = 0; window.liveroomFPS = 0;
setInterval(() => { window.liveroomFPS = frames; frames = 0; }, 1000);

function frame() {
  frames++;
  const batch = queue; queue = [];
  // System notices always render (unpin notices only change the pins); of the rest, the
  // newest that fit the chat and the flying budget.
  const chatFrom = Math.max(0, batch.length - RECENT);
  batch.forEach((m, i) => {
    if (m.pri === "system") { if (m.kind !== "unpin") { if (!m.pin_until) notice(m); addChat(m); } shown++; return; }
    if (i >= chatFrom) addChat(m);
    if (m.ts <= historyUntil) return; // the recent messages of a join: in the list only
    if (flyBudget > 0 && i >= batch.length - flyBudget) { fly(m); flyBudget--; shown++; } else { skipped++; }
  });
  $("shown").textContent = shown;
  $("skipped").textContent = skipped;
  $("dropped").textContent = lr.stats.dropped;
  $("gaps").textContent = lr.stats.gaps;
  $("notifies").textContent = lr.stats.notifies;
  $("pulls").textContent = lr.stats.pulls;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

$("sendForm").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("text");
  const t = input.value.trim();
  if (!t) return;
  input.value = "";
  try { await lr.send(room, { kind: "chat", body: { text: t } }); }
  catch (err) { addChat({ pri: "system", uid: "", body: { text: "not sent: " + (err.code || err.message) } }); }
});
window.liveroom = lr; // for tests and curious users
