"""Interview practice in a browser: a short mock interview end to end (timer, auto-submit, review)
and a practice question over htmx. The live server is another process: data goes in the database."""

import re

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from lessons.services import material_import
from quizzes.models import Attempt, AttemptQuestion, PracticeSession, Question
from quizzes.services import bank_paths_default, question_import
from tests.e2e.base import BrowserTestCase
from tests.factories import UserFactory


class QuizJourneyTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        material_import(path=settings.MATERIAL_DIR / "communication-protocols.txt")
        question_import(paths=bank_paths_default())
        UserFactory(username="ada")
        self.csp_violations: list[str] = []
        self.page.on(
            "console",
            lambda m: self.csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def test_short_mock_interview_end_to_end_then_review(self):
        page = self.page
        page.clock.install(time=timezone.now())
        self.log_in(page, "ada")
        page.goto(self.url("/quizzes/"))
        page.get_by_role("button", name="Start a Mid-level mock interview").click()
        expect(page.get_by_role("heading", name="Mid-level mock interview")).to_be_visible()

        # Keep it short: three questions of three types (the database is shared with the server).
        attempt = Attempt.objects.get()
        single, multiple, free = (Question.objects.get(key=k) for k in ("mid-001", "mid-003", "mid-038"))
        AttemptQuestion.objects.filter(attempt=attempt).delete()
        for position, question in enumerate((single, multiple, free), 1):
            AttemptQuestion.objects.create(attempt=attempt, question=question, position=position)
        page.reload()

        timer = page.get_by_role("timer")
        expect(timer).to_have_text(re.compile(r"^2[45]:\d\d$"))
        expect(page.get_by_text("0 of 3 answered")).to_be_visible()

        # Question 1: single choice. Nothing of the key is on the page.
        page.get_by_label(single.data["options"][single.answer]).check()
        expect(page.get_by_text(single.explanation)).to_have_count(0)
        page.get_by_role("button", name="Save and next").click()
        expect(page.get_by_text("1 of 3 answered")).to_be_visible()

        # Question 2: multiple choice, swapped in by htmx (the timer keeps its place).
        for option in multiple.answer:
            page.get_by_label(multiple.data["options"][option]).check()
        page.get_by_role("button", name="Save and next").click()
        expect(page.get_by_text("2 of 3 answered")).to_be_visible()

        # Question 3: free response.
        page.get_by_label("Your answer").fill(
            "REST for public APIs: compatibility, curl, tooling. gRPC internally for performance and type safety."
        )
        page.get_by_role("button", name="Save answer").click()
        expect(page.get_by_text("3 of 3 answered")).to_be_visible()
        expect(page.get_by_text(free.rubric[0])).to_have_count(0)

        # The countdown warns at 5 minutes, then submits by itself at 0:00.
        remaining = (attempt.deadline - timezone.now()).total_seconds()
        page.clock.fast_forward(int((remaining - 299) * 1000))
        expect(
            page.get_by_role("status").filter(has_text="5 minutes left in the mock interview.")
        ).to_be_attached()
        expect(timer).to_have_text(re.compile(r"^4:5\d$"))
        page.clock.fast_forward(5 * 60 * 1000)
        expect(page).to_have_url(self.url(f"/quizzes/mock/{attempt.pk}/review/"))
        attempt.refresh_from_db()
        assert attempt.auto_submitted is True  # the page submitted itself at 0:00

        # The review: score, key, explanation, lesson link; then self-grade the free response.
        expect(page.get_by_role("heading", name="Mid-level mock interview: review")).to_be_visible()
        expect(page.get_by_text("67 %", exact=True)).to_be_visible()
        expect(page.get_by_text(single.explanation)).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Study this in the lesson")).first).to_have_attribute(
            "href", re.compile(r"^/courses/communication-protocols-in-system-design/.+#.+")
        )
        for point in free.rubric[:3]:
            page.get_by_label(point).check()
        page.get_by_role("button", name="Save my grade").click()
        expect(page.get_by_text("Your grade: 75 % of the rubric")).to_be_visible()
        expect(page.get_by_text("92 %", exact=True)).to_be_visible()

        # History shows the attempt as a chart point and a table row.
        page.get_by_role("link", name="Your Mid-level history").click()
        expect(page.locator("svg.chart circle")).to_have_count(1)
        expect(page.get_by_role("row")).to_have_count(2)
        assert self.csp_violations == []

    def test_practice_with_feedback_next_skip_and_summary(self):
        page = self.page
        self.log_in(page, "ada")
        page.goto(self.url("/quizzes/"))
        page.get_by_role("radio", name="Staff+").check()
        page.get_by_label("Real-Time Communication Protocols").check()
        page.get_by_role("radio", name="5", exact=True).check()
        page.get_by_role("button", name="Start practising").click()
        expect(page.get_by_text("Question 1 of 5")).to_be_visible()

        multiple, single, last = (
            Question.objects.get(key=k) for k in ("staff-007", "staff-011", "staff-009")
        )
        session = PracticeSession.objects.get()
        session.question_ids = [multiple.pk, single.pk, last.pk]
        session.save()
        page.reload()

        # An empty answer is refused by the server, and the message is swapped in place.
        page.get_by_role("button", name="Check answer").click()
        expect(page.get_by_role("alert")).to_have_text("Choose at least one option.")

        for option in multiple.answer:
            page.get_by_label(multiple.data["options"][option]).check()
        page.get_by_role("button", name="Check answer").click()
        expect(page.get_by_role("heading", name="Correct", exact=True)).to_be_focused()
        expect(page.get_by_text(multiple.explanation)).to_be_visible()
        expect(page.get_by_text("Score: 1 of 1 right (100 %)")).to_be_visible()

        page.get_by_role("link", name="Next question").click()
        expect(page.get_by_text("Question 2 of 3")).to_be_visible()
        wrong = next(o for o in single.data["options"] if o != single.answer)
        page.get_by_label(single.data["options"][wrong]).check()
        page.get_by_role("button", name="Check answer").click()
        expect(page.get_by_role("heading", name="Not quite")).to_be_visible()
        expect(page.get_by_text(single.data["options"][single.answer]).last).to_be_visible()

        page.get_by_role("link", name="Next question").click()
        page.get_by_role("button", name="Skip").click()
        expect(page).to_have_url(self.url(f"/quizzes/practice/{session.pk}/summary/"))
        expect(page.get_by_text("2 / 3")).to_be_visible()
        expect(page.get_by_role("link", name="Real-Time Communication Protocols").first).to_be_visible()
        assert self.csp_violations == []
