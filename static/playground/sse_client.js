// Server-Sent Events transport: one EventSource; sends go by POST. The browser reconnects by
// itself with Last-Event-ID; a recreated EventSource passes ?after= (L7).
import { now, utf8Length } from "./pane.js";

const TYPES = ["hello", "reset", "presence", "heartbeat", "tick", "chat"];
// Response head per (re)connect: status line + Content-Type, Cache-Control, X-Accel-Buffering,
// X-Content-Type-Options, Server, Transfer-Encoding (estimated; EventSource exposes no headers).
const RESPONSE_HEAD_BYTES = 215;
const chunkFraming = (n) => n.toString(16).length + 4; // chunked transfer: size line + CRLFs

export class SseClient {
  constructor(pane, config) {
    this.pane = pane;
    this.config = config;
    this.conn = `sse-${Math.random().toString(36).slice(2, 10)}`;
    this.es = null;
    this.opens = 0;
    this.active = false;
    pane.onGap = () => this.recreate("gap in the live stream");
  }

  connect() {
    this.active = true;
    this.open();
  }

  open() {
    const q = new URLSearchParams({ conn: this.conn });
    if (this.pane.lastId !== null) {
      q.set("after", this.pane.lastId);
      this.pane.markResume();
    }
    const url = `${this.config.ssePath}?${q}`;
    const es = new EventSource(url);
    this.es = es;
    this.lastHeard = now();
    this.countRequest(url, null);
    this.pane.setState("connecting", "warn");
    es.onopen = () => {
      this.opens += 1;
      if (this.opens > 1) this.pane.stats.reconnects += 1;
      this.pane.setState("open", "ok");
      this.pane.stats.bytesIn += RESPONSE_HEAD_BYTES + utf8Length(": connected\nretry: 3000\n\n") + chunkFraming(25);
      this.pane.wire("← HTTP/1.1 200 OK\n  Content-Type: text/event-stream; charset=utf-8\n  Cache-Control: no-cache\n  X-Accel-Buffering: no\n  Transfer-Encoding: chunked\n\n: connected\nretry: 3000\n");
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        this.pane.setState("failed", "bad");
        this.pane.log("·", null, "the server refused the stream (non-200): EventSource will not retry; press Connect", 0, "error");
        this.stop();
        return;
      }
      this.pane.setState("reconnecting", "warn");
      this.pane.markResume();
      this.countRequest(url, "Last-Event-ID");
    };
    for (const type of TYPES) es.addEventListener(type, (e) => this.onEvent(type, e));
    this.watchdog = setInterval(() => {
      if (es.readyState === EventSource.OPEN && now() - this.lastHeard > (this.config.heartbeatSeconds * 2 + 5) * 1000) this.recreate("no heartbeat");
    }, 5000);
  }

  countRequest(url, header) {
    this.pane.stats.requests += 1;
    this.pane.wire(`→ GET ${url} HTTP/1.1${header ? `\n  Last-Event-ID: ${this.pane.lastId ?? ""} (set by the browser)` : ""}\n  Accept: text/event-stream`);
  }

  onEvent(type, e) {
    this.lastHeard = now();
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    const isEvent = typeof msg.id === "number";
    const idLine = isEvent || type === "reset" ? `id: ${e.lastEventId}\n` : "";
    const block = `${type === "heartbeat" ? ": heartbeat\n" : ""}${idLine}event: ${type}\ndata: ${e.data}\n\n`;
    const bytes = utf8Length(block);
    const total = bytes + chunkFraming(bytes);
    this.pane.wire(block.trimEnd());
    if (isEvent) {
      this.pane.receive(msg, total, e.data);
      return;
    }
    this.pane.stats.bytesIn += total;
    if (type === "hello" && typeof msg.request_header_bytes === "number") this.pane.stats.bytesOut += msg.request_header_bytes;
    if (type === "hello" && msg.resumed_from !== null) this.pane.log("↓", null, `resumed from ${msg.resumed_from}: ${msg.replayed} replayed`, total, "", e.data);
    else this.pane.control(msg, total, e.data);
  }

  recreate(why) {
    this.pane.log("·", null, `recreating the EventSource from ${this.pane.lastId}: ${why}`, 0, "gap");
    this.stop();
    this.pane.stats.reconnects += 1;
    this.open();
  }

  stop() {
    clearInterval(this.watchdog);
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  disconnect() {
    this.active = false;
    this.stop();
    this.pane.setState("closed");
  }
}
