"""Accessibility across the whole site, with the demo data `make run` loads.

axe-core (tests/e2e/vendor/axe-core/4.14.1, test-only) runs on every page, as the anonymous
visitor, the demo learner and the demo instructor, in the light and the dark colour scheme:
no serious or critical findings. At phone size (390x844) no page scrolls sideways. Keyboard:
the skip link works, Tab reaches every control with a visible focus ring and never gets stuck.
Screenshots of key pages at phone and desktop size go to tests/e2e/screenshots/ (git-ignored).
"""

import contextlib
import http.client
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import RequestFactory
from django.urls import Resolver404, get_resolver, resolve
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import User
from config.views import server_error
from courses.cohort_services import invite_create
from courses.demo import DEMO_PASSWORD, demo_seed
from courses.models import Cohort, CohortMembership, LessonProgress
from lessons.models import Lesson
from lessons.services import material_import
from quizzes.models import Attempt, PracticeSession, Question
from quizzes.services import bank_paths_default, question_import
from tests.e2e.base import BrowserTestCase

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "4.14.1" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ROLES = ("anonymous", "learner", "instructor")
VARIANTS = (("phone", "light"), ("desktop", "light"), ("phone", "dark"))  # screenshots: size, scheme
# axe rules whose outcome depends on the layout (everything else was checked at desktop size).
PHONE_RULES = ["scrollable-region-focusable", "color-contrast", "target-size", "meta-viewport", "region"]
EXPERIMENT = "who-recovers-from-a-dropped-connection"
PANES_CONNECTED = {
    "ws": "open",
    "sse": "open",
    "long_poll": "waiting",
    "short_poll": re.compile("idle|polling"),
}

# URL names that answer no page of their own: POST-only actions, streams, exports, the health check.
NOT_PAGES = {
    "healthz",
    "accounts:logout",
    "lessons:lesson-complete",
    "lessons:lesson-uncomplete",
    "quizzes:practice-start",
    "quizzes:practice-answer",
    "quizzes:practice-skip",
    "quizzes:practice-grade",
    "quizzes:practice-finish",
    "quizzes:mock-start",
    "quizzes:attempt-answer",
    "quizzes:attempt-submit",
    "quizzes:attempt-grade",
    "quizzes:review-answer",
    "quizzes:review-grade",
    "courses:cohort-invite-revoke",
    "courses:cohort-leave",
    "courses:cohort-learner-remove",
    "courses:cohort-message",
    "courses:cohort-export-learners",
    "courses:cohort-export-questions",
    "playground:stream-events",
    "playground:stream-poll",
    "playground:stream-send",
    "playground:fault-list",  # JSON for the fault controls
    "playground:fault-heal",
    "playground:experiment-predict",
    "playground:experiment-run-create",
    "playground:experiment-assign",
}

AXE_RUN = """
async (rules) => {
  // Two frames: style changes (a colour scheme switch) have finished their (0.01 ms, reduced-motion) transitions.
  for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
  const options = {resultTypes: ["violations"]};
  if (rules) options.runOnly = {type: "rule", values: rules};
  const results = await axe.run(document, options);
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}
"""

LONG_ANIMATIONS = """
() => document.getAnimations()
  .map((a) => ({name: a.animationName || a.transitionProperty || "script", ms: a.effect?.getComputedTiming().duration,
                on: a.effect?.target?.tagName?.toLowerCase() + "." + [...(a.effect?.target?.classList || [])].join(".")}))
  .filter((a) => typeof a.ms === "number" && a.ms > 1)
"""
ANIMATIONS_DONE = "() => document.getAnimations().every((animation) => animation.playState !== 'running')"

# The page follows the emulated colour scheme and its colour transitions (0.01 ms under reduced motion) are over.
SCHEME_SETTLED = """
(scheme) => matchMedia(`(prefers-color-scheme: ${scheme})`).matches
  && document.getAnimations().every((animation) => animation.playState !== "running")
"""

# Scroll every lazily drawn diagram into view, so axe and the screenshots see the SVG.
DRAW_DIAGRAMS = """
async () => {
  const figures = [...document.querySelectorAll("[data-diagram]")];
  for (const figure of figures) { figure.scrollIntoView(); await new Promise((r) => setTimeout(r, 30)); }
  window.scrollTo(0, 0);
  return figures.length;
}
"""

# Elements that stick out of the viewport and are not clipped by a scrolling ancestor: the
# culprits when the page scrolls sideways.
SIDEWAYS = """
() => {
  const clippedBy = (element) => {
    if (getComputedStyle(element).position === "fixed") return null;
    let absolute = getComputedStyle(element).position === "absolute";
    for (let a = element.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (absolute && style.position === "static") continue;
      absolute = style.position === "absolute";
      if (style.overflowX !== "visible") return a;
    }
    return null;
  };
  const out = [];
  for (const element of document.querySelectorAll("body *")) {
    const right = element.getBoundingClientRect().right;
    if (right > innerWidth + 0.5 && !clippedBy(element)) {
      out.push(`${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}.${[...element.classList].join(".")} ends at ${Math.round(right)}px`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth, culprits: out.slice(0, 5)};
}
"""

# Where keyboard focus is, whether one can see it, and whether it shows a focus indicator.
FOCUS_STATE = """
async () => {
  // Two frames: styles that follow focus (the skip link moving on screen) have settled.
  for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const rect = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
  const hidden = rect.width < 1 || rect.height < 1 || style.visibility === "hidden" || el.closest("[inert], [aria-hidden=true]") !== null;
  const line = el.getClientRects()[0] || rect;  // a link wrapped over two lines: its first line box
  const cx = Math.min(Math.max(line.left + line.width / 2, 0), innerWidth - 1);
  const cy = Math.min(Math.max(line.top + Math.min(line.height / 2, 8), 0), innerHeight - 1);
  const top = document.elementFromPoint(cx, cy);
  const obscured = top && !el.contains(top) && !top.contains(el) && !(el.labels && [...el.labels].some((l) => l.contains(top)))
    ? top.tagName.toLowerCase() + "." + [...top.classList].join(".") : "";
  const label = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("name") || el.id || "").trim().replace(/\\s+/g, " ").slice(0, 50);
  return {key: el.tagName.toLowerCase() + "|" + label + "|" + Math.round(rect.x) + "," + Math.round(rect.y + scrollY),
          tag: el.tagName.toLowerCase(), label, ring, hidden, obscured, id: el.id};
}
"""

# Marks every element that receives focus, so the walk can tell which controls Tab never reached.
MARK_VISITS = """
() => document.addEventListener("focusin", (event) => event.target.setAttribute("data-a11y-focused", ""))
"""

# Controls a keyboard user must reach: visible, enabled, in the tab order (one radio per group).
UNVISITED = """
() => {
  const seenGroups = new Set();
  return [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")]
    .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== "hidden" && !el.closest("[inert]")
      && !(el.closest("details:not([open])") && el.tagName !== "SUMMARY"))
    .filter((el) => {
      if (el.type !== "radio") return true;
      const group = el.form ? el.form.elements.namedItem(el.name) : null;
      const key = (el.form ? "f" : "") + el.name;
      if (seenGroups.has(key)) return false;
      seenGroups.add(key);
      return !(group && [...(group.length ? group : [group])].some((r) => r.hasAttribute("data-a11y-focused")));
    })
    .filter((el) => !el.hasAttribute("data-a11y-focused"))
    .slice(0, 8)
    .map((el) => el.tagName.toLowerCase() + ": " + (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().replace(/\\s+/g, " ").slice(0, 40));
}
"""


# Records what live regions would announce: [politeness, text] for every change of their text.
RECORD_LIVE_REGIONS = """
() => {
  window.__liveRegions = [];
  const live = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]";
  new MutationObserver((mutations) => {
    const changed = new Set();
    for (const m of mutations) {
      const node = m.target.nodeType === Node.ELEMENT_NODE ? m.target : m.target.parentElement;
      const region = node && node.closest(live);
      if (region && !region.closest("[hidden]")) changed.add(region);  // hidden regions are not read out
    }
    for (const region of changed) {
      const politeness = region.getAttribute("aria-live") || (region.getAttribute("role") === "alert" ? "assertive" : "polite");
      const text = region.textContent.trim();
      if (text) window.__liveRegions.push([politeness, text]);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


@dataclass(frozen=True)
class Stop:
    """One page (or page state) of the sweep: a path to open, or steps that bring the page there."""

    role: str
    name: str
    go: str | Callable[[Page], None]
    screenshot: bool = False


def findings_text(findings: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in findings.items():
        lines.append(where)
        for violation in violations:
            lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:6]:
                summary = " ".join(node["summary"].split())[:240]
                lines.append(f"    {node['target']}\n      {summary}")
            if len(violation["nodes"]) > 6:
                lines.append(f"    ... and {len(violation['nodes']) - 6} more")
    return "\n".join(lines)


def answer_shown_question(page: Page, submit: str) -> None:
    """Answer whatever question is on the page (first option, first choices, some text)."""
    form = page.locator("form.question-card")
    radios = form.locator("input[type=radio]")
    if radios.count():
        radios.first.check()
    boxes = form.locator("input[type=checkbox]")
    if boxes.count():
        boxes.first.check()
    for select in form.locator("select[required]").all():
        select.select_option(index=1)
    text = form.locator("textarea[required]")
    if text.count():
        text.fill("TCP for ordered, reliable delivery; UDP where late data is useless.")
    form.get_by_role("button", name=submit).click()


class AccessibilityTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        material_import(path=settings.MATERIAL_DIR / "communication-protocols.txt")
        question_import(paths=bank_paths_default())
        demo_seed()
        self.cohort = Cohort.objects.get()
        self.learner = User.objects.get(username="learner")
        self.contexts: dict[tuple[str, str, str], BrowserContext] = {}
        self.visited_views: set[str] = set()

    # Contexts: one per role, colour scheme and size, logged in once and reused.

    def context_for(self, role: str, scheme: str = "light", size: str = "desktop") -> BrowserContext:
        key = (role, scheme, size)
        if key not in self.contexts:
            context = self.new_context(
                color_scheme=scheme, viewport=PHONE if size == "phone" else DESKTOP, reduced_motion="reduce"
            )
            context.add_init_script(path=str(AXE))
            if role != "anonymous":
                self.log_in(context.new_page(), role, DEMO_PASSWORD)
                context.pages[0].close()
            self.contexts[key] = context
        return self.contexts[key]

    # The pages of the site.

    def stops(self) -> list[Stop]:
        course = Lesson.objects.select_related("course").first().course
        base = f"/courses/{course.slug}/"
        lessons = list(Lesson.objects.filter(course=course))  # Meta ordering: topic, then position
        chooser = next(
            f"{base}{lesson.slug}/chooser/" for lesson in lessons if "decision-tree" in lesson.slug
        )
        invite = invite_create(cohort=self.cohort, created_by=User.objects.get(username="instructor"))
        member = (
            CohortMembership.objects.filter(cohort=self.cohort, role=CohortMembership.Role.LEARNER)
            .exclude(user=self.learner)
            .values_list("user_id", flat=True)
            .first()
        )
        cohort = f"/cohorts/{self.cohort.pk}/"
        uid = urlsafe_base64_encode(force_bytes(self.learner.pk))
        token = default_token_generator.make_token(self.learner)
        return [
            # Anonymous: the public pages, accounts and errors.
            Stop("anonymous", "home", "/", screenshot=True),
            Stop("anonymous", "course list", "/courses/"),
            Stop("anonymous", "course", base, screenshot=True),
            *(Stop("anonymous", f"lesson {lesson.slug}", f"{base}{lesson.slug}/") for lesson in lessons),
            Stop("anonymous", "chooser, first question", chooser),
            Stop("anonymous", "chooser, an outcome", self.walk_chooser(chooser)),
            Stop("anonymous", "search form", "/search/"),
            Stop("anonymous", "search with results", "/search/?q=websocket+heartbeat", screenshot=True),
            Stop("anonymous", "search without results", "/search/?q=zzyzx"),
            Stop("anonymous", "practice home", "/quizzes/"),
            Stop("anonymous", "playground", "/playground/"),
            Stop(
                "anonymous",
                "playground, panes connected to the ticker",
                self.connect_playground("/playground/"),
            ),
            Stop("anonymous", "experiments", "/playground/experiments/"),
            Stop("anonymous", "log in", "/accounts/login/"),
            Stop("anonymous", "log in, wrong password", self.failed_log_in),
            Stop("anonymous", "sign up", "/accounts/signup/"),
            Stop("anonymous", "sign up, errors", self.failed_sign_up),
            Stop("anonymous", "password reset", "/accounts/password/reset/"),
            Stop("anonymous", "password reset sent", "/accounts/password/reset/done/"),
            Stop("anonymous", "password reset link", f"/accounts/reset/{uid}/{token}/"),
            Stop("anonymous", "password reset link, expired", f"/accounts/reset/{uid}/not-a-token/"),
            Stop("anonymous", "password reset complete", "/accounts/reset/done/"),
            Stop("anonymous", "cohort invitation", invite.get_absolute_url()),
            Stop("anonymous", "404", "/no/such/page/"),
            Stop("anonymous", "400 (bad Host)", self.error_page(400)),
            Stop("anonymous", "403 (CSRF)", self.error_page(403)),
            Stop("anonymous", "413 (body too large)", self.error_page(413)),
            Stop("anonymous", "500", self.error_page(500)),
            # The learner: studying, practice, mock interview, review, cohorts, account.
            Stop("learner", "home, continue", "/", screenshot=True),
            Stop("learner", "my learning", "/my-learning/"),
            Stop("learner", "lesson with progress", f"{base}{lessons[6].slug}/", screenshot=True),
            Stop("learner", "practice home", "/quizzes/", screenshot=True),
            *self.practice_stops(),
            Stop("learner", "mock interview in progress", self.start_mock, screenshot=True),
            Stop("learner", "mock interview, answered", self.answer_mock),
            Stop("learner", "practice home, mock open", "/quizzes/"),
            Stop("learner", "mock interview review", self.mock_review),
            *(
                Stop("learner", f"history {level}", f"/quizzes/mock/history/{level}/")
                for level in ("mid", "senior", "staff")
            ),
            Stop("learner", "review queue", "/quizzes/review/", screenshot=True),
            Stop("learner", "review feedback", self.answer_review),
            Stop("learner", "cohort list", "/cohorts/"),
            Stop("learner", "my progress in the cohort", f"{cohort}my-progress/", screenshot=True),
            Stop("learner", "cohort invitation (member)", invite.get_absolute_url()),
            Stop(
                "learner",
                "playground, panes connected to a room",
                self.connect_playground("/playground/?stream=room&room=a11y", send="hello"),
                screenshot=True,
            ),
            Stop("learner", "experiments", "/playground/experiments/"),
            Stop("learner", "experiment, predict first", f"/playground/experiments/{EXPERIMENT}/"),
            Stop("learner", "experiment, panes set up", self.set_up_experiment, screenshot=True),
            Stop("learner", "my learning, experiments loaded", self.my_learning_with_experiments),
            Stop("learner", "experiment history", "/playground/experiments/history/"),
            Stop("learner", "password change", "/accounts/password/change/"),
            Stop("learner", "password changed", "/accounts/password/change/done/"),
            Stop("learner", "404", "/courses/no-such-course/"),
            # The instructor: cohorts.
            Stop("instructor", "cohort list", "/cohorts/"),
            Stop("instructor", "new cohort", "/cohorts/new/"),
            Stop("instructor", "cohort dashboard", cohort, screenshot=True),
            Stop(
                "instructor",
                "cohort dashboard, sorted and filtered",
                f"{cohort}?sort=-lessons&status=at_risk",
            ),
            Stop("instructor", "per-learner page", f"{cohort}learners/{member}/", screenshot=True),
            Stop("instructor", "question analytics", f"{cohort}questions/", screenshot=True),
            Stop("instructor", "cohort settings", f"{cohort}settings/"),
            Stop("instructor", "cohort invitations", f"{cohort}invites/"),
        ]

    def walk_chooser(self, path: str) -> Callable[[Page], None]:
        def go(page: Page) -> None:
            page.goto(self.url(path))
            for _ in range(12):
                if page.locator(".chooser-outcome").count():
                    break
                page.locator(".chooser-choices a").first.click()
                page.wait_for_load_state()
                page.wait_for_timeout(100)
            expect(page.locator(".chooser-outcome")).to_be_visible()

        return go

    def connect_playground(self, path: str, send: str = "") -> Callable[[Page], None]:
        def go(page: Page) -> None:
            page.goto(self.url(path))
            page.get_by_role("button", name="Connect all", exact=True).click()
            for key, state in PANES_CONNECTED.items():
                expect(page.locator(f'[data-pane="{key}"] [data-role="state"]')).to_have_text(state)
            if send:
                page.get_by_label("Send to the room (over the socket)").fill(send)
                page.locator('[data-pane="ws"]').get_by_role("button", name="Send", exact=True).click()
            for key in PANES_CONNECTED:
                expect(page.locator(f'[data-pane="{key}"] [data-role="log"] tr').first).to_be_attached()

        return go

    def set_up_experiment(self, page: Page) -> None:
        page.goto(self.url(f"/playground/experiments/{EXPERIMENT}/"))
        if page.get_by_role("button", name="Save my prediction").count():  # not yet predicted
            page.locator("form input[type=radio]").first.check()
            page.get_by_role("button", name="Save my prediction").click()
        page.get_by_role("button", name="Set up panes").click()
        expect(page.locator('[data-role="run-state"]')).to_have_text("ready", timeout=15_000)

    def my_learning_with_experiments(self, page: Page) -> None:
        page.goto(self.url("/my-learning/"))
        # htmx swaps the playground's section in on load, replacing the no-JS link.
        expect(page.get_by_role("link", name="Your predictions and experiment runs")).to_have_count(0)

    def failed_log_in(self, page: Page) -> None:
        page.goto(self.url("/accounts/login/"))
        page.get_by_label("Username").fill("learner")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".form-errors")).to_be_visible()

    def failed_sign_up(self, page: Page) -> None:
        page.goto(self.url("/accounts/signup/"))
        page.get_by_label("Username").fill("learner")
        page.get_by_label("Email").fill("not-an-address")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Password confirmation").fill("other")
        page.locator("form").evaluate("form => form.noValidate = true")
        page.get_by_role("button", name="Sign up").click()
        expect(page.locator(".field-invalid").first).to_be_visible()

    def error_page(self, status: int) -> Callable[[Page], None]:
        """Error pages the browser cannot ask for itself, fetched as the server sends them and shown at our origin."""

        def fetch() -> tuple[int, dict[str, str], bytes]:
            if status == 500:
                response = server_error(RequestFactory().get("/"))
                return 500, {"content-type": "text/html; charset=utf-8"}, response.content
            connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
            if status == 400:
                connection.request("GET", "/", headers={"Host": "evil.example"})
            elif status == 403:  # a form post without its CSRF token
                body = "username=learner&password=x"
                connection.request(
                    "POST",
                    "/accounts/login/",
                    body=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
            else:  # 413: more than DATA_UPLOAD_MAX_MEMORY_SIZE (with a CSRF cookie, so Django reads the body)
                body = "a=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "csrftoken=" + "a" * 32,
                }
                connection.request("POST", "/accounts/login/", body=body, headers=headers)
            response = connection.getresponse()
            answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
            connection.close()
            return answer

        def go(page: Page) -> None:
            code, headers, body = fetch()
            assert code == status, (code, body[:300])
            path = f"/__error-{status}/"
            page.route(f"**{path}", lambda route: route.fulfill(status=code, headers=headers, body=body))
            page.goto(self.url(path))
            page.unroute(f"**{path}")

        return go

    def practice_stops(self) -> list[Stop]:
        """Practice with one question of each type on screen, then feedback, then the summary."""
        types = ["single", "multiple", "scenario", "red_flag", "ordering", "matching", "free"]
        picked = [Question.objects.filter(type=kind, is_active=True).order_by("pk").first() for kind in types]
        picked = [question for question in picked if question is not None]

        def start(page: Page) -> None:
            page.goto(self.url("/quizzes/"))
            page.get_by_role("button", name="Start practising").click()
            expect(page.get_by_text("Question 1 of")).to_be_visible()
            session = PracticeSession.objects.filter(user=self.learner).order_by("-pk").first()
            session.question_ids = [question.pk for question in picked]
            session.save()
            page.reload()

        def skip_to(position: int) -> Callable[[Page], None]:
            def go(page: Page) -> None:
                page.get_by_role("button", name="Skip").click()
                expect(page.get_by_text(f"Question {position} of")).to_be_visible()

            return go

        def feedback(page: Page) -> None:
            answer_shown_question(page, "Check answer")
            expect(page.locator("#practice-main .quiz-actions a.button")).to_be_visible()

        def summary(page: Page) -> None:
            page.get_by_role("button", name="End practice and see the summary").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("summary")

        stops = [Stop("learner", f"practice question: {picked[0].type}", start, screenshot=True)]
        for position, question in enumerate(picked[1:-1], 2):
            stops.append(Stop("learner", f"practice question: {question.type}", skip_to(position)))
        stops.append(Stop("learner", f"practice question: {picked[-1].type}", skip_to(len(picked))))
        stops.append(Stop("learner", "practice self-grading (free response)", feedback))
        stops.append(Stop("learner", "practice summary", summary, screenshot=True))
        return stops

    def start_mock(self, page: Page) -> None:
        page.goto(self.url("/quizzes/"))
        page.get_by_role("button", name="Start a Mid-level mock interview").click()
        expect(page.get_by_role("timer")).to_be_visible()

    def answer_mock(self, page: Page) -> None:
        answer_shown_question(page, "Save and next")
        expect(page.get_by_text("1 of")).to_be_visible()

    def mock_review(self, page: Page) -> None:
        attempt = self.learner.attempts.filter(submitted_at__isnull=False).order_by("-pk").first()
        page.goto(self.url(f"/quizzes/mock/{attempt.pk}/review/"))

    def answer_review(self, page: Page) -> None:
        answer_shown_question(page, "Check answer")
        expect(page.locator("#review-main .feedback, #review-main .quiz-actions").first).to_be_visible()

    # Running the sweep.

    def open(self, page: Page, stop: Stop) -> None:
        if isinstance(stop.go, str):
            page.goto(self.url(stop.go))
        else:
            stop.go(page)
        page.wait_for_load_state("load")
        if page.locator("[data-diagram]").count():
            page.evaluate(DRAW_DIAGRAMS)
            expect(page.locator("[data-diagram-canvas]:not([data-rendered])")).to_have_count(0)
        with contextlib.suppress(Resolver404):  # error pages
            self.visited_views.add(resolve(urlsplit(page.url).path).view_name)

    def sweep(self, check: Callable[[Page, Stop], object], *, scheme: str = "light", size: str = "desktop"):
        pages = {role: self.context_for(role, scheme, size).new_page() for role in ROLES}
        found = {}
        for stop in self.stops():
            page = pages[stop.role]
            self.open(page, stop)
            problem = check(page, stop)
            if problem:
                found[f"{stop.name} [{stop.role}, {scheme}, {size}] {urlsplit(page.url).path}"] = problem
        return found

    def axe(self, page: Page, stop: Stop, rules: list[str] | None = None) -> list[dict]:
        return page.evaluate(AXE_RUN, rules)

    def switch_scheme(self, page: Page, scheme: str) -> None:
        page.emulate_media(color_scheme=scheme)
        page.wait_for_function(SCHEME_SETTLED, arg=scheme)

    def axe_light_and_dark(self, page: Page, stop: Stop) -> list[dict]:
        """Every rule in the light scheme, then colour contrast again with the page switched to dark.

        Diagrams pick mermaid's theme when drawn, so lessons with diagrams get a dark page load of their own.
        """
        findings = self.axe(page, stop)
        if not page.locator("[data-diagram]").count():
            self.switch_scheme(page, "dark")
            dark = self.axe(page, stop, ["color-contrast"])
            findings += [{**violation, "id": f"{violation['id']} (dark)"} for violation in dark]
            self.switch_scheme(page, "light")
        return findings

    def test_every_page_has_no_serious_axe_violations_in_light_and_dark(self):
        moving = {}

        def check(page: Page, stop: Stop) -> list[dict]:
            # The contexts ask for reduced motion: nothing on the page may animate for longer than a blink.
            if animations := page.evaluate(LONG_ANIMATIONS):
                moving[f"{stop.name} [{stop.role}] {urlsplit(page.url).path}"] = animations
            return self.axe_light_and_dark(page, stop)

        found = self.sweep(check)
        assert moving == {}, "animations despite prefers-reduced-motion: reduce\n" + json.dumps(
            moving, indent=2
        )
        page = self.context_for("anonymous", "dark").new_page()
        for lesson in Lesson.objects.filter(sections__kind="diagram").distinct():
            stop = Stop("anonymous", f"lesson {lesson.slug} (diagrams)", lesson.get_absolute_url())
            self.open(page, stop)
            if violations := self.axe(page, stop, ["color-contrast"]):
                found[f"{stop.name} [anonymous, dark] {stop.go}"] = violations
        assert not found, "\n" + findings_text(found)

        pages = {
            name
            for name, pattern in _url_names().items()
            if name not in NOT_PAGES and not name.startswith("admin:") and not name.startswith("bench:")
        }
        assert pages - self.visited_views == set(), "pages the sweep does not visit yet"

    def test_at_phone_size_no_page_scrolls_sideways_or_has_axe_findings(self):
        sideways, findings = {}, {}

        def check(page: Page, stop: Stop) -> None:
            where = f"{stop.name} [{stop.role}, phone] {urlsplit(page.url).path}"
            state = page.evaluate(SIDEWAYS)
            if state["scrollWidth"] > state["innerWidth"]:
                sideways[where] = state
            if violations := self.axe(page, stop, PHONE_RULES):
                findings[where] = violations

        self.sweep(check, size="phone")
        assert sideways == {}, "\n" + json.dumps(sideways, indent=2)
        assert findings == {}, "\n" + findings_text(findings)

    # Keyboard.

    def tab_through(self, page: Page, limit: int = 400) -> dict:
        """Tab from the top of the page until focus leaves it; report the stops and any problems."""
        stops, problems = [], []
        for _ in range(limit):
            page.keyboard.press("Tab")
            state = page.evaluate(FOCUS_STATE)
            if state is None:  # past the last control: focus left the document
                break
            if stops and state["key"] == stops[0]:
                break
            stops.append(state["key"])
            if state["hidden"]:
                problems.append(f"focus on an invisible element: {state['key']}")
            elif not state["ring"]:
                problems.append(f"no visible focus indicator: {state['key']}")
            elif state["obscured"]:
                problems.append(f"focused element hidden under {state['obscured']}: {state['key']}")
        else:
            problems.append(
                f"focus never left the page after {limit} Tab presses (a trap?): last {stops[-3:]}"
            )
        missed = page.evaluate(UNVISITED)
        if missed:
            problems.append(f"controls Tab never reached: {missed}")
        return {"stops": stops, "problems": problems}

    def test_keyboard_skip_link_focus_rings_and_no_traps(self):
        pages = {role: self.context_for(role).new_page() for role in ROLES}
        found = {}
        for stop in self.stops():
            if not stop.screenshot:  # the key pages
                continue
            page = pages[stop.role]
            self.open(page, stop)
            page.reload()  # Tab starts from the top of the document
            page.evaluate(MARK_VISITS)
            walk = self.tab_through(page)
            problems = walk["problems"]
            # The first Tab shows the skip link; Enter moves focus to the main content.
            if not walk["stops"] or not walk["stops"][0].startswith("a|Skip to content|"):
                problems.append(f"the first Tab does not reach the skip link: {walk['stops'][:1]}")
            else:
                skip = page.get_by_role("link", name="Skip to content")
                skip.focus()
                page.wait_for_function(ANIMATIONS_DONE)
                box = skip.bounding_box()
                if box is None or box["y"] < 0:
                    problems.append(f"the focused skip link is off screen: {box}")
                page.keyboard.press("Enter")
                if page.evaluate("document.activeElement.id") != "main":
                    problems.append("the skip link does not move focus to <main id=main>")
            if problems:
                found[f"{stop.name} [{stop.role}] {urlsplit(page.url).path}"] = problems
        assert found == {}, "\n" + json.dumps(found, indent=2)

    def test_practice_question_answered_with_the_keyboard_alone(self):
        page = self.context_for("learner").new_page()
        page.goto(self.url("/quizzes/"))
        page.get_by_role("button", name="Start practising").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_text("Question 1 of")).to_be_visible()
        session = PracticeSession.objects.get(user=self.learner)
        session.question_ids = [Question.objects.filter(type="single").order_by("pk").first().pk]
        session.save()
        page.reload()
        # htmx moves focus to the question heading; Tab goes to the first option, Space picks it.
        page.locator(".question-title").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.type") == "radio"
        page.keyboard.press("Space")
        while page.evaluate("document.activeElement.textContent.trim()") != "Check answer":
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        feedback = page.locator("#practice-main [data-autofocus], #practice-main :focus")
        expect(feedback.first).to_be_visible()
        assert page.evaluate("document.activeElement.closest('#practice-main') !== null")

    # Live regions: state changes are announced, politely and without flooding.

    def test_mock_timer_announces_only_its_two_warnings_politely(self):
        page = self.context_for("learner").new_page()
        page.clock.install(time=timezone.now())
        self.start_mock(page)
        page.evaluate(RECORD_LIVE_REGIONS)
        attempt = Attempt.objects.get(user=self.learner, submitted_at__isnull=True)
        remaining = (attempt.deadline - timezone.now()).total_seconds()
        page.clock.fast_forward(int((remaining - 299) * 1000))  # ticks every second on the way
        expect(page.get_by_role("timer")).to_have_text(re.compile(r"^4:5\d$"))
        page.clock.fast_forward(4 * 60 * 1000)
        expect(page.get_by_role("timer")).to_have_text(re.compile(r"^0:5\d$"))

        assert page.evaluate("window.__liveRegions") == [
            ["polite", "5 minutes left in the mock interview."],
            ["polite", "1 minute left. Your answers are submitted automatically at 0:00."],
        ]
        timer = page.get_by_role("timer")
        assert timer.get_attribute("aria-live") in {None, "off"}  # the ticking display is not read out

    def test_playground_at_phone_size_stacks_panes_and_announces_state_once(self):
        page = self.context_for("learner", size="phone").new_page()
        page.goto(self.url("/playground/?stream=room&room=a11y-live"))
        page.evaluate(RECORD_LIVE_REGIONS)
        page.locator('[data-pane="short_poll"]').get_by_label("Interval").select_option("500")
        page.get_by_role("button", name="Connect all", exact=True).click()
        for key, state in PANES_CONNECTED.items():
            expect(page.locator(f'[data-pane="{key}"] [data-role="state"]')).to_have_text(state)
        # Short polling cycles polling -> idle twice a second; let it run ten cycles.
        expect(page.locator('[data-pane="short_poll"] [data-metric="requests"]')).to_have_text(
            re.compile(r"^(1\d|[2-9]\d)$"), timeout=15_000
        )
        # The demo learner's unread cohort announcement pops up once too (learner_live.js): not the playground's.
        announced = [
            item for item in page.evaluate("window.__liveRegions") if "unread announcement" not in item[1]
        ]
        assert announced == [
            [
                "polite",
                "WebSocket: connected; Server-Sent Events: connected; Long polling: connected; Short polling: connected",
            ]
        ], "\n".join(map(str, announced))

        boxes = [page.locator(f'[data-pane="{key}"]').bounding_box() for key in PANES_CONNECTED]
        assert len({round(box["x"]) for box in boxes}) == 1  # one column
        assert all(upper["y"] + upper["height"] <= lower["y"] for upper, lower in itertools.pairwise(boxes))
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    def test_dashboard_activity_feed_is_announced_as_one_summary_not_per_event(self):
        dashboard = self.context_for("instructor").new_page()
        dashboard.clock.install(time=timezone.now())
        dashboard.goto(self.url(f"/cohorts/{self.cohort.pk}/"))
        expect(dashboard.locator("#live-status")).to_have_text("Live: updates appear as learners work.")
        dashboard.evaluate(RECORD_LIVE_REGIONS)
        dashboard.clock.pause_at(timezone.now() + timedelta(seconds=2))  # the burst lands inside one interval

        # A demo learner with lessons left completes three of them in a burst.
        done = LessonProgress.objects.filter(completed_at__isnull=False)
        member = next(
            m.user
            for m in self.cohort.memberships.filter(role=CohortMembership.Role.LEARNER).select_related("user")
            if Lesson.objects.exclude(pk__in=done.filter(user=m.user).values("lesson_id")).count() >= 3
        )
        learner = self.new_context().new_page()
        self.log_in(learner, member.username, DEMO_PASSWORD)
        for lesson in Lesson.objects.exclude(pk__in=done.filter(user=member).values("lesson_id"))[:3]:
            learner.goto(self.url(lesson.get_absolute_url()))
            learner.get_by_role("button", name="Mark complete").click()
            expect(learner.get_by_role("button", name="Mark as not complete")).to_be_visible()
        feed = dashboard.locator("#live-feed li", has_text="completed a lesson")
        expect(feed).to_have_count(3)
        events = dashboard.locator("#live-feed li").count()  # lesson views too

        dashboard.clock.run_for(1_000)
        dashboard.clock.fast_forward(60_000)
        announced = dashboard.evaluate("window.__liveRegions")
        assert len(announced) == 1, announced
        politeness, text = announced[0]
        assert politeness == "polite"
        if events > 3:
            assert text.startswith(f"{events} new activities: ")
            assert text.endswith(f"; and {events - 3} more.")
        else:
            assert text.count("completed a lesson") == 3

    # Phone and desktop screenshots, for a person to look at.

    def test_screenshots_of_key_pages_at_phone_and_desktop_size(self):
        SCREENSHOTS.mkdir(exist_ok=True)
        written = []
        for size, scheme in VARIANTS:
            pages = {role: self.context_for(role, scheme, size).new_page() for role in ROLES}
            for stop in self.stops():
                if not stop.screenshot:
                    continue
                page = pages[stop.role]
                self.open(page, stop)
                slug = "".join(c if c.isalnum() else "-" for c in f"{stop.role}-{stop.name}").strip("-")
                path = SCREENSHOTS / f"{slug}-{size}-{scheme}.png"
                page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top, not mid-image
                page.screenshot(path=path, full_page=True, animations="disabled")
                written.append(path)
        assert len(written) == len(VARIANTS) * len([stop for stop in self.stops() if stop.screenshot])
        assert all(path.stat().st_size > 5_000 for path in written)

    # Print.

    def test_lessons_print_without_navigation_with_link_urls_and_diagrams_that_fit(self):
        lesson = Lesson.objects.get(slug="protocol-selection-decision-tree")
        section = lesson.sections.exclude(body_html="").first()
        section.body_html += '<p>See <a href="https://www.rfc-editor.org/rfc/rfc6455">RFC 6455</a>.</p>'
        section.save(update_fields=["body_html"])
        page = self.context_for("learner").new_page()
        self.open(page, Stop("learner", "lesson", lesson.get_absolute_url()))
        page.emulate_media(media="print")
        hidden = [
            ".site-header",
            ".site-footer",
            ".skip-link",
            ".breadcrumb",
            ".lesson-aside",
            ".lesson-toc-inline",
            ".lesson-progress",
            ".lesson-pager",
            ".anchor-link",
            ".diagram-source",
            ".chooser-embed",
        ]
        shown = page.evaluate(
            "(selectors) => selectors.filter((s) => [...document.querySelectorAll(s)].some((e) => e.getClientRects().length))",
            hidden,
        )
        assert shown == []
        after = page.locator('a[href="https://www.rfc-editor.org/rfc/rfc6455"]').evaluate(
            "a => getComputedStyle(a, '::after').content"
        )
        assert after == '" (https://www.rfc-editor.org/rfc/rfc6455)"'
        internal = page.locator(".lesson-body a[href^='/'], .lesson-body a[href^='#']").first
        assert internal.evaluate("a => getComputedStyle(a, '::after').content") in {"none", "normal"}
        widths = page.evaluate(
            """() => ({body: document.querySelector('.lesson-body').getBoundingClientRect().width,
                       page: document.documentElement.scrollWidth, viewport: innerWidth,
                       diagrams: [...document.querySelectorAll('.diagram-canvas svg')].map((s) => s.getBoundingClientRect().width)})"""
        )
        assert len(widths["diagrams"]) == lesson.sections.filter(kind="diagram").count() > 0
        assert all(width <= widths["body"] + 1 for width in widths["diagrams"]), widths
        assert widths["page"] <= widths["viewport"]
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")


def _url_names() -> dict[str, object]:
    names = {}

    def walk(patterns, namespace: str) -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(
                    pattern.url_patterns,
                    f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace,
                )
            elif pattern.name:
                names[namespace + pattern.name] = pattern

    walk(get_resolver().url_patterns, "")
    return names
