// Long polling (timeout 25) and short polling (timeout 0 on an interval): one request at a time,
// the cursor is the acknowledgement; a 410 gap is reported and the client resyncs from the newest.
import { Backoff, presence, utf8Length } from "./pane.js";

function responseHeadBytes(r) {
  let n = `HTTP/1.1 ${r.status} ${r.statusText}\r\n`.length + 2;
  r.headers.forEach((value, name) => { n += name.length + value.length + 4; });
  return n + 17; // Server: daphne (not exposed to fetch)
}

function headerText(r) {
  const lines = [];
  r.headers.forEach((value, name) => lines.push(`  ${name}: ${value}`));
  return lines.join("\n");
}

export class PollClient {
  constructor(pane, config, { long }) {
    this.pane = pane;
    this.config = config;
    this.long = long;
    this.timeout = long ? 25 : 0;
    this.interval = 2000;
    this.conn = `${long ? "lp" : "sp"}-${Math.random().toString(36).slice(2, 10)}`;
    this.backoff = new Backoff();
    this.active = false;
    this.empty = 0;
  }

  connect() {
    if (this.active) return;
    this.active = true;
    this.abort = new AbortController();
    this.pane.setState(this.long ? "waiting" : "polling", "ok");
    this.loop();
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  async loop() {
    const signal = this.abort.signal;
    while (this.active && !signal.aborted) {
      const after = this.pane.lastId;
      const q = new URLSearchParams({ timeout: this.timeout, conn: this.conn });
      if (after !== null) q.set("after", after);
      const url = `${this.config.pollPath}?${q}`;
      this.pane.stats.requests += 1;
      this.pane.setState(this.long ? "waiting" : "polling", "ok");
      try {
        const r = await fetch(url, {
          signal: AbortSignal.any([signal, AbortSignal.timeout((this.timeout + 10) * 1000)]),
          cache: "no-store",
          credentials: "same-origin",
        });
        const text = await r.text();
        const requestBytes = Number(r.headers.get("X-Request-Header-Bytes")) || 0;
        const inBytes = responseHeadBytes(r) + utf8Length(text);
        this.pane.stats.bytesOut += requestBytes;
        this.pane.stats.bytesIn += inBytes;
        this.pane.stats.approx = true;
        this.pane.wire(`→ GET ${url} HTTP/1.1  (${requestBytes} B of request head, as the server saw it)\n← HTTP/1.1 ${r.status} ${r.statusText}  (≈${inBytes} B)\n${headerText(r)}\n\n  ${text}`);
        const body = JSON.parse(text);
        if (r.status === 410) {
          this.reportGap(after, body.oldest_id);
          this.pane.lastId = null; // resync from the newest event
          continue;
        }
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        if (body.presence) presence.set(body.presence);
        if (this.pane.epoch && body.epoch && body.epoch !== this.pane.epoch && after !== null) {
          this.pane.stats.resets += 1;
          this.pane.log("↓", null, `reset: epoch ${body.epoch} replaces ${this.pane.epoch}; resyncing from the newest event`, 0, "reset");
          this.pane.epoch = body.epoch;
          this.pane.lastId = null;
          continue;
        }
        this.pane.epoch = body.epoch || this.pane.epoch;
        if (!body.events.length) this.empty += 1;
        for (const ev of body.events) {
          const raw = JSON.stringify(ev);
          this.pane.receive(ev, 0, raw);
        }
        if (this.pane.lastId === null || body.last_id > this.pane.lastId) this.pane.lastId = body.last_id;
        this.backoff.reset();
        if (!this.long) {
          this.pane.setState("idle", "ok");
          await this.sleep(this.interval);
        }
      } catch (err) {
        if (!this.active || signal.aborted) break;
        const delay = this.backoff.next();
        this.pane.stats.reconnects += 1;
        this.pane.setState(`backoff ${(delay / 1000).toFixed(1)} s`, "warn");
        this.pane.log("·", null, `request failed (${err.message}); retrying with after=${after ?? "newest"}`, 0, "error");
        await this.sleep(delay);
      }
    }
  }

  reportGap(after, oldest) {
    const lost = after === null ? 0 : oldest - after - 1;
    if (lost >= 0) {
      this.pane.stats.gaps += 1;
      this.pane.stats.lost += lost;
      this.pane.log("↓", null, `410 gap: ${lost} events left the replay buffer (oldest is ${oldest}); resyncing`, 0, "gap");
    } else {
      this.pane.stats.resets += 1;
      this.pane.log("↓", null, `410: cursor ${after} is ahead of the stream (it restarted); resyncing`, 0, "reset");
    }
  }

  disconnect() {
    this.active = false;
    this.abort?.abort();
    this.pane.setState("closed");
  }
}
