// Every page, logged-in users: the learner socket. Shows announcements live and, on the first page of
// a visit, how many are unread. Text only (textContent): nothing from the server is parsed as HTML.
import { openSocket } from "./live_socket.js";

const script = document.querySelector("script[data-learner-live]");
const ownProgressPage = /^\/cohorts\/\d+\/my-progress\/$/.test(location.pathname);

function ensureStyles() {
  if (!script || document.querySelector(`link[href="${script.dataset.css}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = script.dataset.css;
  document.head.append(link);
}

function region() {
  let box = document.getElementById("cohort-toasts");
  if (!box) {
    box = document.createElement("div");
    box.id = "cohort-toasts";
    box.className = "cohort-toasts";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  return box;
}

function toast({ heading, text, href, linkText }) {
  ensureStyles();
  const card = document.createElement("section");
  card.className = "cohort-toast";
  const title = document.createElement("p");
  title.className = "cohort-toast-title";
  title.textContent = heading;
  const body = document.createElement("p");
  body.textContent = text;
  card.append(title, body);
  if (href) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = linkText;
    card.append(link, " ");
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "link-button";
  close.textContent = "Dismiss";
  close.addEventListener("click", () => card.remove());
  card.append(close);
  region().append(card);
}

openSocket("/ws/courses/me/", {
  onMessage(message) {
    if (message.type === "announcement") {
      toast({
        heading: `${message.cohort_name}: ${message.title}`,
        text: message.body,
        href: message.url,
        linkText: "Open announcements",
      });
    } else if (message.type === "unread" && message.count > 0 && !ownProgressPage) {
      const key = `handshake-unread-${message.count}`;
      if (sessionStorage.getItem(key)) return;
      sessionStorage.setItem(key, "1");
      toast({
        heading: "New announcements",
        text: `You have ${message.count} unread announcement${message.count === 1 ? "" : "s"} from your cohort.`,
        href: "/cohorts/",
        linkText: "See your cohorts",
      });
    }
  },
});
