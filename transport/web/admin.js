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
