// The admin page (admin.html, served at /admin): calls the HTTP API with the admin key.
const $ = (id) => document.getElementById(id);
$("key").value = sessionStorage.getItem("liveroomAdminKey") || "";
$("key").addEventListener("change", () => sessionStorage.setItem("liveroomAdminKey", $("key").value));

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: { "Authorization": "Bearer " + $("key").value, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  $("out").className = r.ok ? "" : "err";
  try { $("out").textContent = `${r.status}\n` + JSON.stringify(JSON.parse(text), null, 2); }
  catch { $("out").textContent = `${r.status}\n${text}`; }
}
const room = () => encodeURIComponent($("room").value);
$("sendNotice").onclick = () => {
  const n = { body: { text: $("notice").value } };
  if ($("pinS").value !== "") n.pin_s = Number($("pinS").value);
  api("POST", `/v1/rooms/${room()}/notices`, n);
};
$("unpin").onclick = () => api("DELETE", `/v1/rooms/${room()}/pins/${encodeURIComponent($("pinTS").value.trim())}`);
$("sendAll").onclick = () => api("POST", `/v1/notices`, { body: { text: $("notice").value } });
$("stats").onclick = () => api("GET", `/v1/rooms/${room()}`);
for (const b of document.querySelectorAll("button[data-list]")) {
  b.onclick = () => {
    const path = `/v1/rooms/${room()}/${b.dataset.list}/${encodeURIComponent($("uid").value)}`;
    api(b.dataset.m, path, b.dataset.m === "PUT" ? { ttl_s: Number($("ttl").value) } : undefined);
  };
}

// Global moderation (PROTOCOL.md section 8.7).
const guid = () => encodeURIComponent($("guid").value);
$("gban").onclick = () => api("PUT", `/v1/bans/${guid()}`, { ttl_s: Number($("gttl").value) });
$("gunban").onclick = () => api("DELETE", `/v1/bans/${guid()}`);
$("gkick").onclick = () => api("DELETE", `/v1/viewers/${guid()}`);

// The lists, a page of 1000 at a time: rows are built with textContent (uids and room ids
// come from the server but are never parsed as HTML).
let listPath = null;
async function showList(path, cursor) {
  const r = await fetch(path + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""),
    { headers: { "Authorization": "Bearer " + $("key").value } });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    $("out").className = "err";
    $("out").textContent = `${r.status}\n` + JSON.stringify(data, null, 2);
    return;
  }
  const rooms = path === "/v1/rooms";
  $("listCol").textContent = rooms ? "room" : "uid";
  $("listVal").textContent = rooms ? "online" : "until";
  const body = $("listBody");
  if (!cursor) body.replaceChildren();
  for (const it of data.items) {
    const tr = document.createElement("tr");
    for (const v of rooms ? [it.room, String(it.online)]
      : [it.uid, it.until === 0 ? "forever" : new Date(it.until * 1000).toLocaleString()]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
  listPath = path;
  $("more").hidden = !data.next;
  $("more").onclick = () => showList(listPath, data.next);
}
for (const b of document.querySelectorAll("button[data-show]")) {
  b.onclick = () => {
    const what = b.dataset.show;
    showList(what.startsWith("room/") ? `/v1/rooms/${room()}/${what.slice(5)}` : `/v1/${what}`);
  };
}
