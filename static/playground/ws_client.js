// WebSocket transport: events down as text frames, ping/pong for the clock, send over the socket.
import { Backoff, clock, now, utf8Length } from "./pane.js";

const NO_RECONNECT = new Set([1000, 4003, 4404]);
const frameHeader = (n, masked) => (n <= 125 ? 2 : n <= 65535 ? 4 : 10) + (masked ? 4 : 0);
const RESPONSE_101_BYTES = 129; // Daphne's "101 Switching Protocols" head: status line, Server, Upgrade, Connection, Accept

export class WsClient {
  constructor(pane, config) {
    this.pane = pane;
    this.config = config;
    this.conn = `ws-${Math.random().toString(36).slice(2, 10)}`;
    this.backoff = new Backoff();
    this.ws = null;
    this.opens = 0;
    this.active = false;
    pane.onGap = () => this.resumeNow("gap in the live stream");
  }

  connect() {
    this.active = true;
    this.open();
  }

  open() {
    clearTimeout(this.retryTimer);
    const q = new URLSearchParams({ conn: this.conn });
    if (this.pane.lastId !== null) {
      q.set("after", this.pane.lastId);
      this.pane.markResume();
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const path = `${this.config.wsPath}?${q}`;
    this.pane.stats.requests += 1;
    this.pane.wire(`→ GET ${path} HTTP/1.1\n  Host: ${location.host}\n  Upgrade: websocket\n  Connection: Upgrade\n  Sec-WebSocket-Version: 13\n  Sec-WebSocket-Key: (16 random bytes, base64; hidden from scripts)\n  Origin: ${location.origin}\n  Cookie: (session, if any)`);
    const ws = new WebSocket(`${scheme}//${location.host}${path}`);
    this.ws = ws;
    this.lastHeard = now();
    this.pane.setState("connecting", "warn");
    ws.onopen = () => {
      this.opens += 1;
      if (this.opens > 1) this.pane.stats.reconnects += 1;
      this.pane.setState("open", "ok");
      this.pane.stats.bytesIn += RESPONSE_101_BYTES;
      this.pane.stats.approx = true;
      this.pane.wire(`← HTTP/1.1 101 Switching Protocols\n  Upgrade: WebSocket\n  Connection: Upgrade\n  Sec-WebSocket-Accept: base64(SHA-1(key + GUID))\n  (no Sec-WebSocket-Extensions: no compression)${ws.extensions ? ` extensions: ${ws.extensions}` : ""}`);
      // A short burst first: the clock offset keeps the min-RTT sample, so a few quick pings
      // after the page has settled beat one slow ping during page load.
      [0, 300, 700, 1200, 2000].forEach((ms) => setTimeout(() => this.ping(), ms));
      this.pingTimer = setInterval(() => this.ping(), 10000);
      this.watchdog = setInterval(() => this.checkSilence(), 5000);
      this.stableTimer = setTimeout(() => this.backoff.reset(), 10000);
    };
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = (e) => this.onClose(ws, e);
  }

  onMessage(data) {
    this.lastHeard = now();
    const payload = utf8Length(data);
    const header = frameHeader(payload, false);
    this.pane.wire(`← text frame FIN=1 opcode=0x1 header ${header} B + payload ${payload} B: ${data}`);
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this.pane.log("↓", null, `unparseable frame: ${data}`, payload + header, "error");
      return;
    }
    if (typeof msg.id === "number") {
      this.pane.receive(msg, payload + header, data);
      return;
    }
    this.pane.stats.bytesIn += payload + header;
    if (msg.type === "pong" && typeof msg.t === "number") {
      const t = now();
      clock.sample(msg.t, t, msg.ts);
      this.pane.log("↓", null, `pong: RTT ${Math.round(t - msg.t)} ms`, payload + header, "", data);
      return;
    }
    if (msg.type === "hello" && typeof msg.request_header_bytes === "number") {
      this.pane.stats.bytesOut += msg.request_header_bytes;
    }
    this.pane.control(msg, payload + header, data);
  }

  frameUp(obj) {
    const text = JSON.stringify(obj);
    const payload = utf8Length(text);
    const header = frameHeader(payload, true);
    this.ws.send(text);
    this.pane.wire(`→ text frame FIN=1 opcode=0x1 MASK=1 header ${header} B + payload ${payload} B: ${text}`);
    return { text, bytes: payload + header };
  }

  ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const { bytes } = this.frameUp({ type: "ping", t: now() });
    this.pane.stats.bytesOut += bytes;
  }

  send(text) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    const { text: frame, bytes } = this.frameUp({ type: "send", text });
    this.pane.sent(text, bytes);
    this.pane.log("↑", null, frame, bytes, "", frame);
    return true;
  }

  checkSilence() {
    if (this.ws?.readyState === WebSocket.OPEN && now() - this.lastHeard > 25000) this.resumeNow("25 s of silence");
  }

  resumeNow(why) {
    if (!this.ws) return;
    this.pane.log("·", null, `resuming from ${this.pane.lastId}: ${why}`, 0, "gap");
    const old = this.ws;
    this.detach(old);
    old.close(4000, "resume");
    this.open();
  }

  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    clearInterval(this.pingTimer);
    clearInterval(this.watchdog);
    clearTimeout(this.stableTimer);
  }

  onClose(ws, e) {
    this.detach(ws);
    this.pane.stats.bytesIn += 4; // the close frame (2-byte header + 2-byte code, more with a reason)
    this.pane.wire(`← close code=${e.code} reason="${e.reason}" wasClean=${e.wasClean}`);
    this.pane.log("↓", null, `close ${e.code}${e.reason ? ` (${e.reason})` : ""}, wasClean=${e.wasClean}`, 0, e.code === 1000 ? "" : "error");
    this.ws = null;
    if (!this.active || NO_RECONNECT.has(e.code)) {
      this.active = false;
      this.pane.setState(e.code === 4404 ? "failed" : "closed", e.code === 4404 ? "bad" : "");
      return;
    }
    if (e.code === 4429) this.backoff.attempt = 6; // start near the cap
    const delay = this.backoff.next();
    this.pane.setState(`reconnecting in ${(delay / 1000).toFixed(1)} s`, "warn");
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  disconnect() {
    this.active = false;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.detach(ws);
      ws.close(1000, "bye");
      this.ws = null;
      this.pane.wire("→ close code=1000");
    }
    this.pane.setState("closed");
  }
}
