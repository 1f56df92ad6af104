// The playground page: four panes on one stream, a shared clock offset, charts and a summary.
import { sparkline } from "./charts.js";
import { Pane, clock, formatBytes, now, presence, utf8Length } from "./pane.js";
import { PollClient } from "./poll_client.js";
import { SseClient } from "./sse_client.js";
import { WsClient } from "./ws_client.js";

const config = JSON.parse(document.getElementById("playground-config").textContent);
const csrfToken = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
const HISTORY = 120;

const panes = {};
const clients = {};
for (const root of document.querySelectorAll("[data-pane]")) {
  const key = root.dataset.pane;
  const pane = new Pane(root, key, config);
  panes[key] = pane;
  clients[key] =
    key === "ws" ? new WsClient(pane, config)
    : key === "sse" ? new SseClient(pane, config)
    : new PollClient(pane, config, { long: key === "long_poll" });
  pane.history = { latency: [], bytes: [], requests: [] };
  pane.prev = { bytesIn: 0, requests: 0, events: 0 };

  root.querySelector('[data-action="connect"]').addEventListener("click", () => clients[key].connect());
  root.querySelector('[data-action="disconnect"]').addEventListener("click", () => clients[key].disconnect());
  root.querySelector('[data-action="download"]').addEventListener("click", () => pane.download());
  const interval = root.querySelector('[data-role="interval"]');
  if (interval) interval.addEventListener("change", () => { clients[key].interval = Number(interval.value); });
  if (interval) clients[key].interval = Number(interval.value);
  root.querySelector('[data-role="send-form"]').addEventListener("submit", (e) => {
    e.preventDefault();
    const input = root.querySelector('[data-role="send-text"]');
    const text = input.value.trim();
    if (!text) return;
    send(key, text).then((ok) => { if (ok) input.value = ""; });
  });
}

async function send(key, text) {
  const pane = panes[key];
  if (key === "ws") {
    if (!clients.ws.send(text)) {
      pane.log("·", null, "connect the WebSocket first", 0, "error");
      return false;
    }
    return true;
  }
  const body = new URLSearchParams({ text });
  const t0 = now();
  pane.stats.requests += 1;
  pane.sent(text, utf8Length(body.toString()));
  try {
    const r = await fetch(config.sendPath, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/x-www-form-urlencoded" },
      body,
      credentials: "same-origin",
    });
    const answer = await r.text();
    const head = Number(r.headers.get("X-Request-Header-Bytes")) || 0;
    pane.stats.bytesOut += head;
    pane.stats.bytesIn += utf8Length(answer) + 150;
    pane.wire(`→ POST ${config.sendPath} HTTP/1.1 (${head} B of request head) text=${text}\n← HTTP/1.1 ${r.status} ${r.statusText} ${answer}  (POST→${r.status}: ${Math.round(now() - t0)} ms)`);
    let parsed = {};
    try { parsed = JSON.parse(answer); } catch { parsed = {}; }
    if (r.status === 202) {
      pane.log("↑", null, `POST text → 202 id ${parsed.id} in ${Math.round(now() - t0)} ms`, utf8Length(body.toString()), "", body.toString());
      return true;
    }
    pane.log("↑", null, `POST refused ${r.status}: ${parsed.message || parsed.error || answer}`, 0, "error");
  } catch (err) {
    pane.log("↑", null, `POST failed: ${err.message}`, 0, "error");
  }
  return false;
}

// Connect all / disconnect all
document.querySelector('[data-action="connect-all"]').addEventListener("click", () => Object.values(clients).forEach((c) => c.connect()));
document.querySelector('[data-action="disconnect-all"]').addEventListener("click", () => Object.values(clients).forEach((c) => c.disconnect()));

// Page-wide facts
const offsetEl = document.querySelector('[data-role="offset"]');
clock.listeners.add((c) => { offsetEl.textContent = `${Math.round(c.offset)} ms (best RTT ${Math.round(c.bestRtt)} ms)`; });
const presenceEl = document.querySelector('[data-role="presence"]');
const LABELS = { ws: "WebSocket", sse: "SSE", long_poll: "long poll", short_poll: "short poll" };
presence.listeners.add((counts) => {
  presenceEl.textContent = Object.entries(LABELS).map(([k, label]) => `${label} ${counts[k] ?? 0}`).join(" · ");
});

// Once a second: metrics, charts, summary table.
function tick() {
  for (const [key, pane] of Object.entries(panes)) {
    const s = pane.render();
    const newLatencies = pane.latencies.slice(-(s.events - pane.prev.events) || pane.latencies.length);
    const latest = s.events > pane.prev.events && newLatencies.length ? newLatencies.reduce((a, b) => a + b, 0) / newLatencies.length : NaN;
    pane.history.latency.push(latest);
    pane.history.bytes.push(s.bytesIn - pane.prev.bytesIn);
    pane.history.requests.push(s.requests - pane.prev.requests);
    for (const h of Object.values(pane.history)) if (h.length > HISTORY) h.shift();
    pane.prev = { bytesIn: s.bytesIn, requests: s.requests, events: s.events };
    const charts = pane.root.querySelectorAll("[data-chart]");
    for (const svg of charts) sparkline(svg, pane.history[svg.dataset.chart], svg.dataset.chart);
    const row = document.querySelector(`[data-summary="${key}"]`);
    const ms = (v) => (v === null ? "–" : `${Math.round(v)} ms`);
    const perEvent = s.events ? formatBytes((s.bytesIn + s.bytesOut) / s.events, s.approx) : "–";
    const cells = [s.state, s.events, ms(s.p50), ms(s.p95), ms(s.rtt), formatBytes(s.bytesIn, s.approx), formatBytes(s.bytesOut, s.approx), perEvent, s.requests, s.reconnects, `${s.gaps} (${s.lost})`, s.dups];
    cells.forEach((value, i) => { row.cells[i + 1].textContent = String(value); });
  }
}
setInterval(tick, 1000);
tick();

// Hidden tab: close the connections and resume with the cursor when visible again; pagehide: close.
const paused = new Set();
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    for (const [key, client] of Object.entries(clients)) {
      if (client.active) { paused.add(key); client.disconnect(); panes[key].setState("paused (tab hidden)", "warn"); }
    }
  } else {
    for (const key of paused) clients[key].connect();
    paused.clear();
  }
});
window.addEventListener("pagehide", () => Object.values(clients).forEach((c) => c.active && c.disconnect()));

// Several playground tabs share the browser's six HTTP/1.1 connections per host (an SSE stream and a
// held long poll pin one each): warn when more than two tabs are open.
const tabsWarning = document.querySelector('[data-role="tabs-warning"]');
if ("BroadcastChannel" in window && tabsWarning) {
  const channel = new BroadcastChannel("handshake-playground");
  const me = Math.random().toString(36).slice(2);
  const others = new Map();
  const update = () => {
    const cutoff = Date.now() - 5000;
    for (const [id, seen] of others) if (seen < cutoff) others.delete(id);
    const tabs = others.size + 1;
    tabsWarning.hidden = tabs <= 2;
    const text = `${tabs} playground tabs are open. Each SSE stream and held long poll pins one of the browser's 6 connections per host, so pages and sends may stall: close the tabs you are not using.`;
    if (tabsWarning.textContent !== text) tabsWarning.textContent = text; // a live region: say it once, not every 2 s
  };
  channel.onmessage = (e) => {
    if (e.data?.type === "here") others.set(e.data.id, Date.now());
    if (e.data?.type === "bye") others.delete(e.data.id);
    update();
  };
  const announce = () => channel.postMessage({ type: "here", id: me });
  announce();
  setInterval(() => { announce(); update(); }, 2000);
  window.addEventListener("pagehide", () => channel.postMessage({ type: "bye", id: me }));
}
