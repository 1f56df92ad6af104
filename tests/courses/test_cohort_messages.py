"""Announcements and e-mails to a cohort or to chosen (at-risk) learners; unread markers."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from courses.models import Announcement, CohortMembership
from tests.courses.cohort_factories import CohortFactory, MembershipFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Role = CohortMembership.Role


@pytest.fixture
def cohort(instructor, learner, other_learner):
    cohort = CohortFactory(name="Spring cohort")
    MembershipFactory(cohort=cohort, user=instructor, role=Role.INSTRUCTOR)
    MembershipFactory(cohort=cohort, user=learner)
    MembershipFactory(cohort=cohort, user=other_learner)
    return cohort


def post(client, cohort, **data):
    return client.post(reverse("courses:cohort-message", kwargs={"cohort_id": cohort.pk}), data)


def test_announcement_to_the_whole_cohort(client, cohort, instructor):
    client.force_login(instructor)
    response = post(client, cohort, mode="announcement", title="Welcome", body="Hello <all>")
    assert response["Location"] == reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    announcement = Announcement.objects.get()
    assert (announcement.to_everyone, announcement.title, announcement.body) == (
        True,
        "Welcome",
        "Hello <all>",
    )


def test_one_click_announcement_to_chosen_learners_only(client, cohort, instructor, learner, other_learner):
    client.force_login(instructor)
    post(
        client,
        cohort,
        mode="announcement",
        title="Checking in",
        body="How is it going?",
        recipients=[learner.pk],
    )
    announcement = Announcement.objects.get()
    assert announcement.to_everyone is False
    assert list(announcement.recipients.all()) == [learner]
    client.force_login(other_learner)
    page = client.get(reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk}))
    assert "Checking in" not in page.text
    client.force_login(learner)
    page = client.get(reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk}))
    assert "Checking in" in page.text


def test_email_goes_to_each_chosen_learner_separately(client, cohort, instructor, learner, other_learner):
    client.force_login(instructor)
    response = post(
        client,
        cohort,
        mode="email",
        title="Catch up",
        body="Let's talk.",
        recipients=[learner.pk, other_learner.pk],
    )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["learner@example.com", "other@example.com"]
    assert all(m.subject == "Catch up" and m.body.startswith("Let's talk.") for m in mail.outbox)
    assert Announcement.objects.count() == 0


def test_recipients_as_one_space_separated_value_from_the_at_risk_form(
    client, cohort, instructor, learner, other_learner
):
    client.force_login(instructor)
    ids = f"{learner.pk} {other_learner.pk}"
    response = post(client, cohort, mode="email", title="Catch up", body="Let's talk.", recipients=ids)
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["learner@example.com", "other@example.com"]
    # A refused post shows the chosen learners ticked, so sending again cannot reach the whole cohort.
    response = post(client, cohort, mode="announcement", title="x" * 161, body="Hi", recipients=ids)
    assert response.status_code == 400
    ticked = re.findall(r'<input type="checkbox" name="recipients" value="(\d+)"[^>]* checked', response.text)
    assert sorted(map(int, ticked)) == sorted([learner.pk, other_learner.pk])


def test_recipients_outside_the_cohort_are_refused(client, cohort, instructor):
    outsider = UserFactory()
    MembershipFactory(cohort=CohortFactory(), user=outsider)
    client.force_login(instructor)
    for bad in ([outsider.pk], ["abc"], [instructor.pk]):
        response = post(client, cohort, mode="email", title="Hi", body="Hi", recipients=bad)
        assert response.status_code == 400
    assert mail.outbox == []
    assert Announcement.objects.count() == 0


def test_message_rejects_oversized_and_missing_fields(client, cohort, instructor):
    client.force_login(instructor)
    response = post(client, cohort, mode="announcement", title="x" * 161, body="")
    assert response.status_code == 400
    assert "Ensure this value has at most 160 characters (it has 161)." in response.text
    assert "This field is required." in response.text
    assert post(client, cohort, mode="fax", title="Hi", body="Hi").status_code == 400


def test_message_is_404_for_learners_and_requires_post(client, cohort, instructor, learner):
    client.force_login(learner)
    assert post(client, cohort, mode="announcement", title="Hi", body="Hi").status_code == 404
    client.force_login(instructor)
    assert client.get(reverse("courses:cohort-message", kwargs={"cohort_id": cohort.pk})).status_code == 405


def test_message_needs_a_csrf_token(cohort, instructor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    assert post(client, cohort, mode="announcement", title="Hi", body="Hi").status_code == 403


def test_unread_marker_until_the_learner_opens_their_page(client, cohort, instructor, learner):
    client.force_login(instructor)
    post(client, cohort, mode="announcement", title="Read me", body="Soon.")
    client.force_login(learner)
    listing = client.get(reverse("courses:cohort-list"))
    assert "1 new announcement" in listing.text
    page = client.get(reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk}))
    assert '<span class="badge badge-warn">New</span>' in page.text
    again = client.get(reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk}))
    assert '<span class="badge badge-warn">New</span>' not in again.text
    assert "new announcement" not in client.get(reverse("courses:cohort-list")).text


def test_settings_update(client, cohort, instructor):
    client.force_login(instructor)
    url = reverse("courses:cohort-settings", kwargs={"cohort_id": cohort.pk})
    response = client.post(
        url,
        {
            "name": "Renamed",
            "weekly_target_kind": "review_minutes",
            "weekly_target": 30,
            "starts_on": "2026-01-05",
        },
    )
    assert response.status_code == 302
    cohort.refresh_from_db()
    assert (cohort.name, cohort.weekly_target_kind, cohort.weekly_target) == ("Renamed", "review_minutes", 30)
    bad = client.post(url, {"name": "X", "weekly_target_kind": "lessons", "weekly_target": 5000})
    assert bad.status_code == 200
    assert "Ensure this value is less than or equal to 1000." in bad.text
