// Guided experiments: set up the playground's own panes and clients (their recovery logic: WS backoff +
// jitter with ?after=, EventSource with Last-Event-ID, polls resuming from their cursor, 410 gaps
// reported), inject the experiment's faults, then measure each transport and post the result table.
import { Pane, announce, clock, now, percentile, utf8Length } from "./pane.js";
import { PollClient } from "./poll_client.js";
import { SseClient } from "./sse_client.js";
import { WsClient } from "./ws_client.js";

const area = document.querySelector("[data-run-area]");
const csrfToken = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
const experiment = JSON.parse(document.getElementById("experiment-config").textContent);
const streamConfig = JSON.parse(document.getElementById("playground-config").textContent);
const SETTLE_MS = 6000; // after healing: time for the slowest client (backoff) to come back and catch up

const panes = {};
const clients = {};
let running = false;
let faultTimer = null;

const jsonPost = (url, body) =>
  fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });

// --- per-pane measurement around the playground's Pane -------------------------------------------

function instrument(key, pane) {
  const m = {
    faultAt: null, detectAt: null, recoverAt: null, lostByReset: 0, recovered: 0,
    snap: null, detectSnap: null, extraBytes: null, catchUp: false, failed: false, runStart: null,
    latencyFrom: 0, rttFrom: 0,
  };
  pane.measure = m;
  const bytes = () => pane.stats.bytesIn + pane.stats.bytesOut;
  const detect = () => {
    if (m.faultAt !== null && m.detectAt === null) {
      m.detectAt = now();
      m.detectSnap = { bytes: bytes() };
    }
    m.failed = true;
  };
  const setState = pane.setState.bind(pane);
  pane.setState = (label, tone) => {
    if (/^(reconnecting|backoff|connecting|failed)/.test(label) && pane.state !== "closed") detect();
    if ((key === "long_poll" || key === "short_poll") && /^(waiting|polling)/.test(label)) {
      m.catchUp = m.failed; // this request is the retry after a failure: what it brings was recovered
      m.failed = false;
    }
    setState(label, tone);
  };
  const log = pane.log.bind(pane);
  pane.log = (direction, id, payload, b, marker = "", raw = null) => {
    if (marker === "gap" || marker === "error" || marker === "reset") detect();
    const resumed = typeof payload === "string" && m.faultAt !== null && /^resumed from \d+: (\d+) replayed/.exec(payload);
    if (resumed) m.recovered += Number(resumed[1]); // the SSE client logs its hello instead of passing it on
    log(direction, id, payload, b, marker, raw);
  };
  const control = pane.control.bind(pane);
  pane.control = (msg, b, raw) => {
    if (msg.type === "reset" && pane.lastId !== null && typeof msg.last_id === "number") {
      m.lostByReset += Math.max(0, msg.last_id - pane.lastId); // events this client can no longer account for
      detect();
    }
    if (msg.type === "hello" && msg.resumed_from !== null && m.faultAt !== null) m.recovered += msg.replayed || 0;
    control(msg, b, raw);
  };
  const receive = pane.receive.bind(pane);
  pane.receive = (ev, b, raw) => {
    const result = receive(ev, b, raw);
    if (result === "ok") {
      if (m.catchUp) m.recovered += 1;
      if (m.detectAt !== null && m.recoverAt === null) {
        m.recoverAt = now();
        setTimeout(() => { m.extraBytes = bytes() - m.detectSnap.bytes; }, 500);
      }
    }
    return result;
  };
}

function startMeasure(pane) {
  const m = pane.measure;
  m.runStart = now();
  m.snap = { ...pane.stats };
  m.latencyFrom = pane.latencies.length;
  m.rttFrom = pane.rtts.length;
}

function results() {
  const out = {};
  for (const [key, pane] of Object.entries(panes)) {
    const m = pane.measure;
    const s = pane.stats;
    const d = (name) => s[name] - m.snap[name];
    const lat = percentile(pane.latencies.slice(m.latencyFrom), 50);
    const rtt = percentile(pane.rtts.slice(m.rttFrom), 50);
    const reconnects = d("reconnects");
    out[key] = {
      events: d("events"),
      detect_ms: m.detectAt !== null ? Math.round(m.detectAt - m.faultAt) : null,
      recover_ms: m.recoverAt !== null ? Math.round(m.recoverAt - m.faultAt) : null,
      lost: d("lost") + m.lostByReset,
      duplicated: d("dups"),
      recovered: m.recovered,
      extra_requests: m.faultAt !== null ? reconnects : 0,
      extra_bytes: m.faultAt !== null ? (m.extraBytes ?? (m.detectSnap ? s.bytesIn + s.bytesOut - m.detectSnap.bytes : 0)) : 0,
      requests: d("requests"),
      bytes: d("bytesIn") + d("bytesOut"),
      latency_p50_ms: lat === null ? null : Math.max(0, Math.round(lat)),
      reconnects,
      rtt_ms: rtt === null ? null : Math.round(rtt),
    };
  }
  return out;
}

// --- faults ----------------------------------------------------------------------------------------

const strip = area?.querySelector('[data-role="fault-strip"]');

function renderFaults(active) {
  if (!strip) return;
  // Screen readers hear when the set of faults changes, not each second of the countdown.
  const kinds = active.map((f) => f.kind).join(", ");
  if (strip.dataset.kinds !== undefined && strip.dataset.kinds !== kinds) {
    announce("faults", kinds ? `Active faults: ${kinds}` : "No active faults");
  }
  strip.dataset.kinds = kinds;
  strip.replaceChildren();
  if (!active.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "none";
    strip.append(li);
    return;
  }
  for (const f of active) {
    const li = document.createElement("li");
    const params = Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(", ");
    const target = f.conn ? Object.entries(clients).find(([, c]) => c.conn === f.conn)?.[0] ?? f.conn : "all panes";
    li.textContent = `${f.kind}${params ? ` (${params})` : ""} on ${target}, ${Math.ceil(f.expires_in)} s left`;
    strip.append(li);
  }
}

async function refreshFaults() {
  try {
    const r = await fetch(area.dataset.faultsUrl, { credentials: "same-origin", cache: "no-store" });
    if (r.ok) renderFaults((await r.json()).active);
  } catch {
    /* the strip refreshes again in a second */
  }
}

async function inject(fault) {
  const body = { kind: fault.kind, params: fault.params };
  if (fault.target !== "all") body.conn = clients[fault.target].conn;
  const t = now();
  for (const pane of Object.values(panes)) {
    if (fault.target === "all" || pane.key === fault.target) {
      if (pane.measure.faultAt === null) pane.measure.faultAt = t;
    }
  }
  const r = await jsonPost(area.dataset.faultsUrl, body);
  const answer = await r.json();
  if (!r.ok) setRunState(`fault refused: ${answer.message}`, "bad");
  else renderFaults(answer.active);
}

async function healAll() {
  const r = await jsonPost(area.dataset.healUrl, {});
  if (r.ok) renderFaults((await r.json()).active);
}

// --- chat probes (the chat experiment): WS over the socket, SSE by POST ---------------------------

async function postSend(key, text) {
  const pane = panes[key];
  const body = new URLSearchParams({ text });
  pane.stats.requests += 1;
  pane.sent(text, utf8Length(body.toString()));
  const r = await fetch(streamConfig.sendPath, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/x-www-form-urlencoded" },
    body,
    credentials: "same-origin",
  });
  const answer = await r.text();
  pane.stats.bytesOut += Number(r.headers.get("X-Request-Header-Bytes")) || 0;
  pane.stats.bytesIn += utf8Length(answer) + 150;
  pane.log("↑", null, `POST text → ${r.status}`, utf8Length(body.toString()), r.status === 202 ? "" : "error", body.toString());
}

function probe(n) {
  for (const key of Object.keys(panes)) {
    const text = `${key} probe ${n}`;
    if (key === "ws") clients.ws.send(text);
    else if (key === "sse") postSend(key, text);
  }
}

// --- the run -----------------------------------------------------------------------------------------

const setupButton = area?.querySelector('[data-action="setup"]');
const runButton = area?.querySelector('[data-action="run"]');
const runState = area?.querySelector('[data-role="run-state"]');

let runStateKind = "";
function setRunState(text, tone = "") {
  const kind = text.split(":")[0]; // "running: 12 s left" ticks; announce "running" once
  if (kind !== runStateKind) {
    runStateKind = kind;
    announce("run", text);
  }
  runState.textContent = text;
  runState.className = `badge${tone ? ` badge-${tone}` : ""}`;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Latency needs the page's clock offset, which comes from WebSocket ping/pong. Without a WebSocket pane,
// a short-lived socket measures it (five pings, the min-RTT sample wins) and closes.
function calibrateClock() {
  if (experiment.panes.includes("ws") || clock.offset !== null) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${streamConfig.wsPath}?conn=clock-probe`);
  let sent = 0;
  ws.onopen = () => {
    const ping = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (sent++ >= 5) { ws.close(1000, "clock measured"); return; }
      ws.send(JSON.stringify({ type: "ping", t: now() }));
      setTimeout(ping, 200);
    };
    ping();
  };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "pong") clock.sample(msg.t, now(), msg.ts);
  };
}

function setup() {
  calibrateClock();
  for (const root of area.querySelectorAll("[data-pane]")) {
    const key = root.dataset.pane;
    if (clients[key]) continue;
    const pane = new Pane(root, key, streamConfig);
    panes[key] = pane;
    clients[key] =
      key === "ws" ? new WsClient(pane, streamConfig)
      : key === "sse" ? new SseClient(pane, streamConfig)
      : new PollClient(pane, streamConfig, { long: key === "long_poll" });
    if (key === "short_poll") clients[key].interval = experiment.poll_interval_ms;
    instrument(key, pane);
    root.querySelector('[data-action="connect"]').addEventListener("click", () => clients[key].connect());
    root.querySelector('[data-action="disconnect"]').addEventListener("click", () => clients[key].disconnect());
  }
  Object.values(clients).forEach((c) => c.connect());
  setupButton.disabled = true;
  setRunState("connecting", "warn");
  const ready = () => Object.values(panes).every((p) => p.state === "open" || p.state === "waiting" || p.state === "idle" || p.state === "polling");
  const check = setInterval(() => {
    if (ready()) {
      clearInterval(check);
      runButton.disabled = false;
      setRunState("ready", "ok");
    }
  }, 200);
}

async function run() {
  if (running) return;
  running = true;
  runButton.disabled = true;
  Object.values(panes).forEach(startMeasure);
  const t0 = now();
  const pending = [...experiment.faults].sort((a, b) => a.at - b.at);
  let probes = 0;
  const tick = async () => {
    const elapsed = (now() - t0) / 1000;
    setRunState(`running: ${Math.max(0, Math.ceil(experiment.duration - elapsed))} s left`, "warn");
    while (pending.length && pending[0].at <= elapsed) await inject(pending.shift());
    if (experiment.chat && elapsed >= probes * 2 && probes < 3) probe(++probes);
  };
  faultTimer = setInterval(tick, 250);
  await tick();
  await sleep(experiment.duration * 1000);
  clearInterval(faultTimer);
  while (pending.length) await inject(pending.shift());
  if (experiment.faults.length) {
    await healAll();
    setRunState("healed: measuring recovery", "warn");
    await sleep(SETTLE_MS);
  }
  setRunState("saving", "warn");
  const prediction = area.dataset.predictionId ? Number(area.dataset.predictionId) : null;
  const r = await jsonPost(area.dataset.runsUrl, { prediction, results: results() });
  const html = await r.text();
  const target = document.getElementById("result-area");
  if (r.status === 201) {
    target.innerHTML = html; // server-rendered and autoescaped (playground/experiment_detail.html#result)
    setRunState("done", "ok");
  } else {
    target.textContent = `The run could not be saved (${r.status}).`;
    setRunState("not saved", "bad");
  }
  running = false;
  runButton.disabled = false;
  Object.values(panes).forEach((p) => { p.measure.faultAt = p.measure.detectAt = p.measure.recoverAt = null; p.measure.recovered = 0; p.measure.lostByReset = 0; });
}

if (area && setupButton) {
  setupButton.addEventListener("click", setup);
  setupButton.disabled = false; // enabled only once this module is ready (the HTML ships it disabled)
  runButton.addEventListener("click", run);
  area.querySelector('[data-action="heal-all"]').addEventListener("click", healAll);
  setInterval(() => Object.values(panes).forEach((p) => p.render()), 500);
  setInterval(refreshFaults, 1000);
  refreshFaults();
  window.addEventListener("pagehide", () => Object.values(clients).forEach((c) => c.disconnect()));
}

