// The demo page's pure helpers (demo.js): how a message's speaker, avatar, time and text are
// shown, big counts, and the like button's total. No DOM and no network, so that Node tests
// them (testdata/demo_view_test.mjs).

/** The speaker's display name: the stamped name (PROTOCOL.md 8.5), else the uid, else "app". */
export function displayName(m) {
  if (typeof m.name === "string" && m.name.trim() !== "") return m.name.trim();
  return m.uid || "app";
}

/** A message body as one line of text: body.text, a string body, or the JSON. */
export function textOf(m) {
  const b = m.body;
  if (b && typeof b === "object" && "text" in b) return String(b.text);
  if (typeof b === "string") return b;
  return b === undefined ? "" : JSON.stringify(b);
}

/**
 * The avatar of a message's speaker: meta.avatar when it is an https: or data:image URL or a
 * path on this origin (what the page's img-src allows), and the initials and a hue (from the
 * uid, stable per speaker) for the placeholder shown without one or when it fails to load.
 */
export function avatarOf(m) {
  const name = displayName(m);
  const a = m.meta && typeof m.meta.avatar === "string" ? m.meta.avatar.trim() : "";
  const ok = /^https:\/\/[^\s]+$/i.test(a) || /^data:image\/(png|jpeg|gif|webp);/i.test(a) || /^\/(?!\/)[^\s]*$/.test(a);
  return { url: ok ? a : null, initials: initialsOf(name), hue: hueOf(m.uid || name) };
}

/** Up to two initials: of the first two words, or the first two letters of one word. */
export function initialsOf(name) {
  const words = String(name).trim().split(/[\s._-]+/u).filter(Boolean);
  if (words.length === 0) return "?";
  const first = (w) => Array.from(w)[0];
  const s = words.length > 1 ? first(words[0]) + first(words[1]) : Array.from(words[0]).slice(0, 2).join("");
  return s.toUpperCase();
}

/** A hue (0-359) from a string: FNV-1a, so one speaker keeps one colour on every page. */
export function hueOf(s) {
  let h = 0x811c9dc5;
  for (const c of String(s)) {
    h ^= c.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 360;
}

/** A message's time (ts in unix microseconds) as local HH:MM. */
export function timeOf(ts) {
  const d = new Date(Math.floor(ts / 1000));
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

/** A count as a streaming app shows it: 999, 1.2k, 12k, 1.2M (rounded down, never up). */
export function formatCount(n) {
  if (!Number.isFinite(n)) return "0";
  const sign = n < 0 ? "-" : "";
  n = Math.abs(Math.trunc(n));
  const f = (v, unit) => {
    const d = v < 10 ? Math.floor(v * 10) / 10 : Math.floor(v);
    return sign + String(d) + unit;
  };
  if (n < 1000) return sign + String(n);
  if (n < 1e6) return f(n / 1e3, "k");
  if (n < 1e9) return f(n / 1e6, "M");
  return f(n / 1e9, "B");
}

/**
 * The like button's total. The server's totals are conflated (at most one a second), so the
 * page shows the last total plus this viewer's taps that it does not include yet; when a
 * total grows by more than those taps, the rest are other viewers' likes, for which the page
 * floats hearts (at most maxHearts per update).
 */
export class Likes {
  constructor(maxHearts = 6) {
    this.total = 0; // the server's last total
    this.pending = 0; // own taps sent that no total has included yet
    this.known = false; // a total arrived
    this.maxHearts = maxHearts;
  }

  /** The count to show. */
  get shown() { return this.total + this.pending; }

  /** This viewer tapped (the add was sent). */
  tap() { this.pending++; return this.shown; }

  /** An add was refused (rate_limited): it will never be in a total. */
  refused() { if (this.pending > 0) this.pending--; return this.shown; }

  /**
   * The total of a joined reply (also after a reconnect): taps of the session before are in
   * it or were lost with it, so none is pending any more.
   */
  joined(total) {
    if (!Number.isFinite(total)) return;
    this.known = true;
    this.total = total;
    this.pending = 0;
  }

  /** A new total: returns how many hearts to float for other viewers' likes. */
  update(total) {
    if (!Number.isFinite(total)) return 0;
    if (!this.known) { this.joined(total); return 0; }
    const grew = Math.max(0, total - this.total);
    const own = Math.min(this.pending, grew);
    this.pending -= own;
    this.total = total;
    return Math.min(this.maxHearts, grew - own);
  }
}
