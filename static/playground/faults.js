// Fault controls on the playground page: inject a fault into my panes (all, or one transport) and show
// the active faults with "heal all". The server knows my connections (GET /playground/faults/), so a
// transport target resolves to my open connection ids of that transport.
const root = document.querySelector("[data-fault-controls]");
const csrfToken = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
const PARAMS = {
  drop: [],
  latency: ["ms", "jitter_ms", "seconds"],
  loss: ["p", "seconds"],
  pause: ["seconds"],
  buffering: ["batch_seconds", "seconds"],
  offline: ["seconds"],
  restart: ["downtime_seconds"],
};
const NAMES = { ws: "WebSocket", sse: "SSE", long_poll: "Long polling", short_poll: "Short polling" };

const post = (url, body) =>
  fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken, "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });

function render(snapshot) {
  const strip = root.querySelector('[data-role="fault-strip"]');
  const byConn = Object.fromEntries(snapshot.connections.map((c) => [c.conn, NAMES[c.transport] || c.transport]));
  const describe = (f) => {
    const params = Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(", ");
    return `${f.kind}${params ? ` (${params})` : ""} on ${f.conn ? byConn[f.conn] || f.conn : "all my panes"}`;
  };
  // Refreshed every second: rebuild only when the set of faults changes (a focused Heal button keeps
  // focus), tick the countdowns in place, and tell screen readers about changes, not about seconds.
  const ids = snapshot.active.map((f) => f.id).join(",");
  if (strip.dataset.ids === ids) {
    for (const f of snapshot.active) {
      const text = strip.querySelector(`[data-fault-id="${CSS.escape(String(f.id))}"]`)?.firstChild;
      if (text) text.nodeValue = `${describe(f)}, ${Math.ceil(f.expires_in)} s left `;
    }
    return;
  }
  if (strip.dataset.ids !== undefined) {
    root.querySelector('[data-role="fault-message"]').textContent = snapshot.active.length
      ? `Active faults: ${snapshot.active.map(describe).join("; ")}.`
      : "No active faults.";
  }
  strip.dataset.ids = ids;
  strip.replaceChildren();
  if (!snapshot.active.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "none";
    strip.append(li);
  }
  for (const f of snapshot.active) {
    const li = document.createElement("li");
    li.dataset.faultId = f.id;
    li.textContent = `${describe(f)}, ${Math.ceil(f.expires_in)} s left `;
    const heal = document.createElement("button");
    heal.type = "button";
    heal.className = "button button-small button-secondary";
    heal.textContent = "Heal";
    heal.setAttribute("aria-label", `Heal ${f.kind}`);
    heal.addEventListener("click", async () => { const r = await post(root.dataset.healUrl, { id: f.id }); if (r.ok) render(await r.json()); });
    li.append(heal);
    strip.append(li);
  }
}

async function refresh() {
  try {
    const r = await fetch(root.dataset.faultsUrl, { credentials: "same-origin", cache: "no-store" });
    if (r.ok) {
      const snapshot = await r.json();
      render(snapshot);
      return snapshot;
    }
  } catch {
    /* retried in a second */
  }
  return null;
}

function showParams() {
  const kind = root.querySelector('[data-role="fault-kind"]').value;
  for (const label of root.querySelectorAll("[data-param]")) label.hidden = !PARAMS[kind].includes(label.dataset.param);
}

async function inject(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const message = root.querySelector('[data-role="fault-message"]');
  const kind = form.elements.kind.value;
  const target = form.elements.target.value;
  const params = {};
  for (const name of PARAMS[kind]) params[name] = Number(form.elements[name].value);
  let conns = [null];
  if (target !== "all") {
    const snapshot = await refresh();
    conns = (snapshot?.connections || []).filter((c) => c.transport === target && c.open).map((c) => c.conn);
    if (!conns.length && snapshot) conns = snapshot.connections.filter((c) => c.transport === target).map((c) => c.conn);
    if (!conns.length) {
      message.textContent = `Connect the ${NAMES[target]} pane first.`;
      return;
    }
  }
  for (const conn of conns) {
    const body = conn ? { kind, params, conn } : { kind, params };
    const r = await post(root.dataset.faultsUrl, body);
    const answer = await r.json();
    if (!r.ok) {
      message.textContent = answer.message || `refused (${r.status})`;
      return;
    }
    render(answer);
  }
  message.textContent = `${kind} injected.`;
}

if (root && root.querySelector('[data-role="fault-form"]')) {
  root.querySelector('[data-role="fault-kind"]').addEventListener("change", showParams);
  root.querySelector('[data-role="fault-form"]').addEventListener("submit", inject);
  root.querySelector('[data-action="heal-all"]').addEventListener("click", async () => {
    const r = await post(root.dataset.healUrl, {});
    if (r.ok) render(await r.json());
  });
  showParams();
  refresh();
  setInterval(refresh, 1000);
}
