// Shared pane logic: the client log rules (L7), metrics, the capped log and the wire view.
// Event data only ever enters the DOM through textContent.

export const now = () => performance.timeOrigin + performance.now();
const encoder = new TextEncoder();
export const utf8Length = (text) => encoder.encode(text).length;

// One clock offset per page (server ms − client ms), from the min-RTT WebSocket ping/pong sample.
export const clock = {
  offset: null,
  bestRtt: Infinity,
  listeners: new Set(),
  sample(tSend, tRecv, tsServer) {
    const rtt = tRecv - tSend;
    if (rtt < this.bestRtt) {
      this.bestRtt = rtt;
      this.offset = tsServer - (tSend + tRecv) / 2;
      this.listeners.forEach((fn) => fn(this));
    }
  },
};

export const presence = { counts: null, listeners: new Set(), set(counts) { this.counts = counts; this.listeners.forEach((fn) => fn(counts)); } };

export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function formatBytes(n, approx = false) {
  const pre = approx ? "≈" : "";
  if (n < 1024) return `${pre}${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${pre}${(n / 1024).toFixed(1)} KiB`;
  return `${pre}${(n / 1024 / 1024).toFixed(2)} MiB`;
}

// Screen readers hear pane state changes through one polite live region, not the badges: only changes
// a sighted user would notice (open, reconnecting, failed, closed; not each poll's waiting/polling/idle),
// only states that last, and at most one announcement per interval with every pane's news in it.
const ANNOUNCE_MS = 1500;
const announcer = {
  pending: new Map(),
  timer: null,
  say(pane, text) {
    const region = document.querySelector('[data-role="announce"]');
    if (!region) return;
    this.pending.set(pane, text);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      region.textContent = [...this.pending.values()].join("; ");
      this.pending.clear();
    }, ANNOUNCE_MS);
  },
};
// For other parts of the page (fault strips, experiment runs): announce(key, text), coalesced the same way.
export const announce = (key, text) => announcer.say(key, text);
const announcedKind = (label, tone) => (tone === "ok" ? "connected" : label.replace(/\s*[\d.]+\s*s$/, ""));

const LOG_DOM_ROWS = 200;
const LOG_KEEP = 5000;
const WIRE_KEEP = 60;

export class Pane {
  constructor(root, key, config) {
    this.root = root;
    this.key = key;
    this.config = config;
    this.el = (role) => root.querySelector(`[data-role="${role}"]`);
    this.lastId = null;
    this.epoch = null;
    this.resuming = false;
    this.pendingSends = [];
    this.onGap = null; // set by the transport: resume from lastId
    this.stats = { events: 0, dups: 0, gaps: 0, lost: 0, resets: 0, bytesIn: 0, bytesOut: 0, requests: 0, reconnects: 0, approx: false };
    this.latencies = [];
    this.rtts = [];
    this.entries = [];
    this.wireLines = [];
    this.state = "closed";
    this.announced = "closed";
  }

  setState(label, tone = "") {
    this.state = label;
    const badge = this.el("state");
    badge.textContent = label;
    const kind = announcedKind(label, tone);
    if (kind !== this.announced) {
      this.announced = kind;
      const title = this.root.querySelector("h2, h3")?.textContent.trim() || this.key;
      announcer.say(this, `${title}: ${kind === "connected" ? "connected" : label}`);
    }
    badge.className = `badge${tone ? ` badge-${tone}` : ""}`;
    const open = label !== "closed" && label !== "failed";
    this.root.querySelector('[data-action="connect"]').disabled = open;
    this.root.querySelector('[data-action="disconnect"]').disabled = !open;
  }

  // Before a (re)connect that carries a cursor: the first event after it may jump (buffer loss).
  markResume() { this.resuming = true; }

  // Control messages: hello, reset, presence, heartbeat, pong, error.
  control(msg, bytes, raw) {
    if (msg.type === "presence" && msg.counts) presence.set(msg.counts);
    if (msg.type === "hello" && msg.presence) presence.set(msg.presence);
    if (msg.type === "reset") {
      this.stats.resets += 1;
      this.log("↓", null, `reset: the stream restarted (epoch ${msg.epoch}); resuming at id ${msg.last_id}`, bytes, "reset", raw);
      this.epoch = msg.epoch;
      this.lastId = msg.last_id;
      return;
    }
    if (msg.type === "hello") {
      if (this.epoch && msg.epoch && msg.epoch !== this.epoch && this.lastId !== null) {
        this.stats.resets += 1;
        this.log("↓", null, `reset: new epoch ${msg.epoch} (was ${this.epoch})`, bytes, "reset", raw);
        this.lastId = null;
      }
      this.epoch = msg.epoch || this.epoch;
    }
    if (msg.type === "error") {
      this.log("↓", null, `error ${msg.code}: ${msg.message}`, bytes, "error", raw);
      return;
    }
    if (msg.type !== "heartbeat" && msg.type !== "presence") this.log("↓", null, raw, bytes, "", raw);
  }

  // An event (has an id). Returns "ok", "dup" or "gap" (the caller resumes on a live gap).
  receive(ev, bytes, raw) {
    const tRecv = now();
    this.stats.bytesIn += bytes;
    if (this.epoch && ev.epoch && ev.epoch !== this.epoch) {
      this.stats.resets += 1;
      this.log("↓", ev.id, `reset: epoch ${ev.epoch} replaces ${this.epoch}`, 0, "reset", raw);
      this.lastId = null;
    }
    if (ev.epoch) this.epoch = ev.epoch;
    if (this.lastId !== null && ev.id <= this.lastId) {
      this.stats.dups += 1;
      this.log("↓", ev.id, `duplicate dropped: ${raw}`, bytes, "dup", raw);
      return "dup";
    }
    if (this.lastId !== null && ev.id > this.lastId + 1) {
      const missing = ev.id - this.lastId - 1;
      if (!this.resuming && this.onGap) {
        this.stats.gaps += 1;
        this.log("↓", ev.id, `gap: ${missing} missing after ${this.lastId}; resuming`, bytes, "gap", raw);
        this.onGap(this.lastId);
        return "gap";
      }
      this.stats.gaps += 1;
      this.stats.lost += missing;
      this.log("↓", ev.id, `gap: ${missing} events left the replay buffer`, 0, "gap", raw);
    }
    this.resuming = false;
    this.lastId = ev.id;
    this.stats.events += 1;
    if (clock.offset !== null) this.latencies.push(tRecv - (ev.ts - clock.offset));
    if (this.latencies.length > 2000) this.latencies.splice(0, 1000);
    if (ev.type === "chat" && ev.data && this.config.userName && ev.data.user === this.config.userName) {
      const i = this.pendingSends.findIndex((p) => p.text === ev.data.text);
      if (i >= 0) {
        this.rtts.push(tRecv - this.pendingSends[i].t);
        this.pendingSends.splice(i, 1);
      }
    }
    this.log("↓", ev.id, raw, bytes, "", raw);
    return "ok";
  }

  sent(text, bytes) {
    this.stats.bytesOut += bytes;
    this.pendingSends.push({ text: text.replace(/\s+/g, " ").trim(), t: now() });
    if (this.pendingSends.length > 20) this.pendingSends.shift();
  }

  log(direction, id, payload, bytes, marker = "", raw = null) {
    const t = new Date();
    const entry = { direction, time: t.toISOString(), id, payload: raw ?? payload, note: marker ? payload : undefined, bytes, marker };
    this.entries.push(entry);
    if (this.entries.length > LOG_KEEP) this.entries.splice(0, this.entries.length - LOG_KEEP);
    const body = this.el("log");
    const row = document.createElement("tr");
    if (marker) row.className = `is-${marker}`;
    if (direction === "↑") row.classList.add("is-up");
    const time = `${t.toLocaleTimeString([], { hour12: false })}.${String(t.getMilliseconds()).padStart(3, "0")}`;
    for (const value of [direction, time, id ?? "", payload, bytes ? String(bytes) : ""]) {
      const cell = document.createElement("td");
      cell.textContent = String(value).length > 300 ? `${String(value).slice(0, 300)}…` : String(value);
      row.append(cell);
    }
    body.prepend(row);
    while (body.rows.length > LOG_DOM_ROWS) body.deleteRow(body.rows.length - 1);
    this.el("log-empty").hidden = true;
  }

  wire(text) {
    this.wireLines.push(text);
    if (this.wireLines.length > WIRE_KEEP) this.wireLines.splice(0, this.wireLines.length - WIRE_KEEP);
    this.wireDirty = true;
  }

  flushWire() {
    if (!this.wireDirty) return;
    this.wireDirty = false;
    this.el("wire").textContent = this.wireLines.join("\n");
  }

  download() {
    const blob = new Blob([JSON.stringify({ transport: this.key, stream: this.config.stream, stats: this.summary(), entries: this.entries }, null, 2)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `playground-${this.key}-${this.config.stream}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  summary() {
    const p50 = percentile(this.latencies, 50);
    const p95 = percentile(this.latencies, 95);
    const rtt = percentile(this.rtts, 50);
    return { state: this.state, ...this.stats, lastId: this.lastId, p50, p95, rtt };
  }

  render() {
    const s = this.summary();
    const set = (metric, text) => { this.root.querySelector(`[data-metric="${metric}"]`).textContent = text; };
    const ms = (v) => (v === null ? "–" : `${Math.round(v)} ms`);
    const pm = clock.offset === null ? "" : ` ±${Math.round(clock.bestRtt / 2)}`;
    set("events", String(s.events));
    set("latency", s.p50 === null ? (clock.offset === null ? "needs a ping" : "–") : `${ms(s.p50)} / ${ms(s.p95)}${pm}`);
    set("rtt", s.rtt === null ? "–" : `${ms(s.rtt)} (${this.rtts.length})`);
    set("bytes", `${formatBytes(s.bytesIn, s.approx)} / ${formatBytes(s.bytesOut, s.approx)}`);
    set("requests", String(s.requests));
    set("reconnects", String(s.reconnects));
    set("gaps", `${s.gaps} (${s.lost}) / ${s.dups}`);
    set("last", s.lastId === null ? "–" : String(s.lastId));
    this.flushWire();
    return s;
  }
}

// Exponential backoff with full jitter (RFC 6455 §7.2.3): 0.5-1.5 s first, doubling up to 30 s.
export class Backoff {
  constructor(cap = 30000) { this.cap = cap; this.attempt = 0; }
  next() {
    const base = Math.min(this.cap, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    return this.attempt === 1 ? 500 + Math.random() * 1000 : Math.random() * base;
  }
  reset() { this.attempt = 0; }
}
