// Instructor dashboard: swap in learner rows pushed over /ws/courses/cohorts/<id>/ (the server renders
// them with the page's own partial) and list what learners just did.
import { openSocket } from "./live_socket.js";

const root = document.getElementById("cohort-live");
const status = document.getElementById("live-status");
const feed = document.getElementById("live-feed");
const announcer = document.getElementById("live-feed-announce");
// A busy cohort sends many events a minute: screen readers hear at most one summary per interval.
const ANNOUNCE_INTERVAL_MS = 15000;
const KINDS = {
  lesson_completed: "completed a lesson",
  lesson_viewed: "opened a lesson",
  question_answered: "answered a question",
  attempt_submitted: "finished a mock interview",
  review_done: "reviewed a card",
  experiment_run: "ran an experiment",
};

// Rows not on this page (another page of the table, or filtered out) are left alone; a learner who just
// joined is added only on the table's last page (data-append-new), the next reload sorts them in.
function replaceRow(userId, html, joined) {
  const current = document.getElementById(`learner-row-${userId}`);
  if (!html) {
    if (current) current.remove();
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const row = template.content.firstElementChild;
  if (!row) return;
  if (current) {
    current.replaceWith(row);
  } else {
    const body = document.getElementById("learner-rows");
    if (!body || !joined || body.dataset.appendNew !== "true") return;
    body.querySelectorAll("td.empty-state").forEach((cell) => cell.parentElement.remove());
    body.append(row);
  }
  row.classList.add("row-updated");
}

let announceQueue = [];
let announceTimer = null;
let quietUntil = 0;

function announce(text) {
  if (!announcer) return;
  announceQueue.push(text);
  if (announceTimer) return;
  announceTimer = window.setTimeout(() => {
    announceTimer = null;
    const items = announceQueue;
    announceQueue = [];
    const named = items.slice(0, 3).join("; ");
    announcer.textContent = items.length > 3 ? `${items.length} new activities: ${named}; and ${items.length - 3} more.` : `${named}.`;
    quietUntil = Date.now() + ANNOUNCE_INTERVAL_MS;
  }, Math.max(0, quietUntil - Date.now()));
}

function addToFeed(message) {
  if (!feed || message.type !== "activity" || !message.name) return;
  const placeholder = feed.querySelector("li.muted");
  if (placeholder) placeholder.remove();
  const item = document.createElement("li");
  const time = document.createElement("time");
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const text = `${message.name} ${KINDS[message.kind] || "was active"}`;
  item.append(time, ` ${text}`);
  feed.prepend(item);
  announce(text);
  while (feed.children.length > 30) feed.lastElementChild.remove();
}

if (root) {
  openSocket(root.dataset.socket, {
    onStatus(state, reconnected) {
      status.textContent = state === "open" ? "Live: updates appear as learners work." : "Reconnecting to live updates…";
      root.dataset.state = state;
      // Rows may have changed while the socket was down: fetch the table again (same partial, same filters).
      if (state === "open" && reconnected && window.htmx && document.getElementById("learners-table")) {
        window.htmx.ajax("GET", location.pathname + location.search, { target: "#learners-table", swap: "outerHTML" });
      }
    },
    onMessage(message) {
      if (!("html" in message)) return;
      replaceRow(message.user_id, message.html, message.type === "roster");
      addToFeed(message);
    },
  });
}
