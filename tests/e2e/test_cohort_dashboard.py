"""Instructor dashboard updates live while a learner, in a second browser, completes a lesson."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from courses.models import CohortMembership
from tests.courses.cohort_factories import CohortFactory, LessonFactory, MembershipFactory, TopicFactory
from tests.e2e.base import BrowserTestCase
from tests.factories import UserFactory


class CohortDashboardLiveTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        topic = TopicFactory(title="Protocols")
        self.lesson = LessonFactory(topic=topic, title="Network layer", slug="network-layer")
        LessonFactory(topic=topic, title="Application layer", slug="application-layer")
        self.cohort = CohortFactory(course=topic.course, name="Live cohort")
        self.instructor = UserFactory(username="instructor")
        self.learner = UserFactory(username="learner", first_name="Lee", last_name="Learner")
        now = timezone.now()
        MembershipFactory(
            cohort=self.cohort, user=self.instructor, role=CohortMembership.Role.INSTRUCTOR, joined_at=now
        )
        MembershipFactory(cohort=self.cohort, user=self.learner, joined_at=now)

    def test_dashboard_row_updates_when_a_learner_completes_a_lesson(self):
        dashboard = self.page
        self.log_in(dashboard, "instructor")
        dashboard.goto(self.url(f"/cohorts/{self.cohort.pk}/"))
        expect(dashboard.locator("#live-status")).to_have_text("Live: updates appear as learners work.")
        row = dashboard.locator(f"#learner-row-{self.learner.pk}")
        expect(row).to_contain_text("0 / 2")
        expect(row.locator(".presence")).not_to_have_class(re.compile("presence-on"))

        learner_page = self.new_context().new_page()
        self.log_in(learner_page, "learner")
        # The learner's socket (every page) makes them "online now" on the dashboard.
        expect(row.locator(".presence")).to_have_class(re.compile("presence-on"))
        learner_page.goto(self.url(self.lesson.get_absolute_url()))
        learner_page.get_by_role("button", name="Mark complete").click()
        expect(learner_page.get_by_role("button", name="Mark as not complete")).to_be_visible()

        expect(row).to_contain_text("1 / 2")  # no reload on the instructor's side
        expect(dashboard.locator("#live-feed")).to_contain_text("Lee Learner completed a lesson")

        # An announcement posted by the instructor pops up live on the learner's open page.
        dashboard.get_by_label("Title", exact=True).last.fill("Mock interviews on Friday")
        dashboard.locator("#announce-body").fill("Bring one question you found hard.")
        dashboard.get_by_role("button", name="Post to the whole cohort").click()
        expect(dashboard.get_by_text("Announcement posted.")).to_be_visible()
        toast = learner_page.locator(".cohort-toast")
        expect(toast).to_contain_text("Live cohort: Mock interviews on Friday")
        expect(toast).to_contain_text("Bring one question you found hard.")
