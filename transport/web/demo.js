// The demo page (index.html, served at / in --dev mode): a fake live video with flying
// comments, a chat list and a send box, over the JS client.
import { LiveRoom } from "/v1/sdk/liveroom.js";

const params = new URLSearchParams(location.search);
const room = params.get("room") || "demo";
const uid = params.get("uid") || "viewer-" + Math.random().toString(36).slice(2, 8);
document.getElementById("roomName").textContent = room;
document.getElementById("me").textContent = uid;

// Render at most what a person can read: a few flying comments a second and a chat list that
// keeps the last 100 lines, updated once per animation frame. The rest is counted as skipped.
const MAX_FLY_PER_SEC = 8, LANES = 10, MAX_CHAT = 100;
let queue = [], flyBudget = MAX_FLY_PER_SEC, shown = 0, skipped = 0, inCount = 0, lane = 0;
setInterval(() => {
  flyBudget = MAX_FLY_PER_SEC;
  document.getElementById("rate").textContent = inCount;
  inCount = 0;
}, 1000);

const lr = new LiveRoom({ url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`, devUid: uid });
lr.on("state", (s) => { const el = document.getElementById("state"); el.textContent = s; el.className = s; });
lr.on("joined", (r, j) => {
  document.getElementById("online").textContent = j.online;
  if (Array.isArray(j.pinned)) { pins = j.pinned; showPins(); }
});
lr.on("message", (r, m) => { inCount++; queue.push(m); });
lr.on("counters", (r, c, online) => {
  document.getElementById("likes").textContent = c.likes || 0;
  if (online !== undefined) document.getElementById("online").textContent = online;
});
document.getElementById("like").addEventListener("click", () => lr.add(room, "likes", 1));
lr.on("kick", (r, reason) => addChat({ pri: "system", uid: "", body: { text: `kicked: ${reason}` } }));
lr.on("stopped", (reason) => addChat({ pri: "system", uid: "", body: { text: `disconnected for good: ${reason}` + (reason === "replaced" ? " (another tab of this user took the session)" : "") } }));
lr.connect();
lr.join(room);

function text(m) {
  const b = m.body;
  if (b && typeof b === "object" && "text" in b) return String(b.text);
  return typeof b === "string" ? b : JSON.stringify(b);
}

function addChat(m) {
  const li = document.createElement("li");
  if (m.pri === "system") { li.className = "system"; li.textContent = "[notice] " + text(m); }
  else { const who = document.createElement("b"); who.textContent = (m.name || m.uid || "app") + ": "; li.append(who, text(m)); }
  const chat = document.getElementById("chat");
  chat.append(li);
  while (chat.children.length > MAX_CHAT) chat.firstChild.remove();
  chat.scrollTop = chat.scrollHeight;
}

// Pinned notices (PROTOCOL.md 8.3) stay on top until their pin_until or an unpin notice:
// at most 8, oldest first, as the room keeps them.
let pins = [];
function showPins() {
  const now = Date.now() * 1000;
  pins = pins.filter((p) => p.pin_until > now).slice(-8);
  const box = document.getElementById("pinned");
  box.replaceChildren(...pins.map((p) => { const d = document.createElement("div"); d.textContent = "📌 " + text(p); return d; }));
}
setInterval(showPins, 1000);
function trackPins(m) {
  if (m.pin_until) { pins = pins.filter((p) => p.ts !== m.ts).concat([m]); showPins(); }
  if (m.kind === "unpin" && m.body) { pins = pins.filter((p) => p.ts !== m.body.ts); showPins(); }
}

function pin(m) {
  const n = document.createElement("div");
  n.className = "notice";
  n.textContent = text(m);
  const box = document.getElementById("notices");
  box.prepend(n);
  while (box.children.length > 3) box.lastChild.remove();
}

function fly(m) {
  const d = document.createElement("div");
  d.className = "dm" + (m.pri === "high" ? " high" : "");
  d.textContent = text(m);
  d.style.top = (8 + (lane++ % LANES) * 8) + "%";
  d.addEventListener("animationend", () => d.remove());
  document.getElementById("stage").append(d);
}

// Frames rendered in the last second (the browser test checks the page stays smooth).
let frames = 0; window.liveroomFPS = 0;
setInterval(() => { window.liveroomFPS = frames; frames = 0; }, 1000);

function frame() {
  frames++;
  const batch = queue; queue = [];
  // System notices always render; of the rest, the newest that fit the budget.
  const chatFrom = Math.max(0, batch.length - 20);
  batch.forEach((m, i) => {
    if (m.pri === "system") { trackPins(m); if (m.kind !== "unpin") { pin(m); addChat(m); } shown++; return; }
    if (i >= chatFrom) addChat(m);
    if (flyBudget > 0 && i >= batch.length - flyBudget) { fly(m); flyBudget--; shown++; } else { skipped++; }
  });
  document.getElementById("shown").textContent = shown;
  document.getElementById("skipped").textContent = skipped;
  document.getElementById("dropped").textContent = lr.stats.dropped;
  document.getElementById("notifies").textContent = lr.stats.notifies;
  document.getElementById("pulls").textContent = lr.stats.pulls;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

document.getElementById("sendForm").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  const t = input.value.trim();
  if (!t) return;
  input.value = "";
  try { await lr.send(room, { kind: "chat", body: { text: t } }); }
  catch (err) { addChat({ pri: "system", uid: "", body: { text: "not sent: " + (err.code || err.message) } }); }
});
window.liveroom = lr; // for tests and curious users
