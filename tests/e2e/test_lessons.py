"""Studying the course in a browser: diagrams as SVG, the chooser, progress, search."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from lessons.services import material_import
from tests.e2e.base import BrowserTestCase
from tests.lessons.conftest import COURSE_SLUG, MATERIAL

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "4.14.1" / "axe.min.js"


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings (evaluated through DevTools, so our CSP still applies to the page)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{item['id']}: {node['target']}"
        for item in results["violations"]
        if item["impact"] in {"serious", "critical"}
        for node in item["nodes"]
    ]


class LessonJourneyTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        material_import(path=MATERIAL)
        self.violations: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.violations.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )

    def sign_up(self) -> None:
        page = self.page
        page.goto(self.url("/"))
        page.get_by_role("link", name="Sign up").click()
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill("a-long-enough-passphrase")
        page.get_by_label("Password confirmation").fill("a-long-enough-passphrase")
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_text("Welcome to Handshake, ada!")).to_be_visible()

    def test_study_the_course(self):
        page = self.page
        self.sign_up()

        # Open the course from the course list.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
        page.get_by_role("link", name="Communication Protocols in System Design").first.click()
        expect(page).to_have_url(self.url(f"/courses/{COURSE_SLUG}/"))
        expect(page.get_by_text("0 of 13 lessons · 0%")).to_be_visible()
        assert axe_violations(page) == []

        # Diagrams are drawn as SVG, with captions and a source toggle; no CSP violations.
        page.get_by_role("link", name="The Landscape").click()
        figures = page.locator("figure.diagram")
        expect(figures).to_have_count(3)
        for index in range(3):
            figure = figures.nth(index)
            figure.scroll_into_view_if_needed()
            expect(figure.locator(".diagram-canvas > svg")).to_be_visible()
            expect(figure.locator("figcaption")).not_to_be_empty()
        expect(figures.first.locator("svg")).to_contain_text("REST API")
        expect(figures.first.locator(".diagram-source pre")).to_be_hidden()
        figures.first.get_by_text("View source").click()
        expect(figures.first.locator(".diagram-source pre")).to_contain_text("graph TB")
        assert axe_violations(page) == []

        # Mark the lesson complete (htmx) and see the progress update.
        page.get_by_role("button", name="Mark complete").click()
        expect(page.locator("#lesson-progress .progress-label")).to_contain_text("1 of 13 lessons")
        expect(page.get_by_role("status")).to_have_text("Lesson marked complete. 1 of 13 lessons done.")
        expect(page.get_by_role("button", name="Mark as not complete")).to_be_visible()
        page.goto(self.url(f"/courses/{COURSE_SLUG}/"))
        expect(page.get_by_text("1 of 13 lessons · 8%")).to_be_visible()

        # The protocol chooser, one question at a time.
        page.get_by_role("link", name="Protocol Selection Decision Tree").click()
        chooser = page.locator("#chooser")
        chooser.scroll_into_view_if_needed()
        expect(chooser).to_contain_text("Latency Requirement?")
        chooser.get_by_role("link", name="< 100ms").click()
        expect(chooser).to_contain_text("Bidirectional?")
        chooser.get_by_role("link", name="No", exact=True).click()
        expect(chooser).to_contain_text("Server Push Only?")
        chooser.get_by_role("link", name="Yes", exact=True).click()
        expect(chooser.locator(".chooser-outcome")).to_have_text("Server-Sent Events")
        expect(chooser).to_contain_text(
            "Server-initiated updates (notifications, live data) need WebSockets, SSE"
        )
        expect(page).to_have_url(re.compile(r"/protocol-selection-decision-tree/$"))  # swapped in place
        chooser.get_by_role("link", name="Real-Time Communication Protocols").click()
        expect(page).to_have_url(
            self.url(
                f"/courses/{COURSE_SLUG}/real-time-communication-protocols/#real-time-communication-protocols"
            )
        )

        # Search for "idempotency" and land on the section that explains it.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
        page.get_by_label("Search for").fill("idempotency")
        page.get_by_role("button", name="Search").click()
        results = page.locator("#search-results")
        expect(results).to_contain_text("4 results for “idempotency”")
        expect(results.locator("mark").first).to_have_text("idempotency")
        assert axe_violations(page) == []
        results.get_by_role(
            "link", name="How do you ensure reliable message delivery in a distributed system?"
        ).click()
        anchor = "how-do-you-ensure-reliable-message-delivery-in-a-distributed-system"
        expect(page).to_have_url(self.url(f"/courses/{COURSE_SLUG}/questions-and-red-flags/#{anchor}"))
        section = page.locator(f"#{anchor}")
        expect(section).to_be_in_viewport()
        expect(section).to_contain_text("implement idempotency (processing the same message multiple times")

        # My learning remembers it all.
        page.get_by_role("link", name="My learning").click()
        expect(page.get_by_text("1 of 13 lessons · 8%")).to_be_visible()
        expect(page.get_by_role("table")).to_contain_text("The Landscape")
        assert axe_violations(page) == []
        assert self.violations == []

    def test_chooser_works_without_javascript(self):
        context = self.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(self.url(f"/courses/{COURSE_SLUG}/protocol-selection-decision-tree/"))
        expect(page.locator("figure.diagram")).to_contain_text("This diagram is drawn with JavaScript.")
        page.get_by_role("link", name="Seconds OK").click()
        expect(page).to_have_url(re.compile(r"/chooser/\?path=1$"))
        page.get_by_role("link", name="Yes", exact=True).click()
        expect(page.locator(".chooser-outcome")).to_have_text("TCP-based Queue")
