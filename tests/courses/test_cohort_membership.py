"""Cohorts, invitations and membership: services and their pages."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from courses import cohort_services
from courses.models import CohortMembership
from tests.courses.cohort_factories import CohortFactory, CourseFactory, InviteFactory, MembershipFactory
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
Role = CohortMembership.Role


@pytest.fixture
def cohort(instructor):
    cohort = CohortFactory(name="Spring cohort")
    MembershipFactory(cohort=cohort, user=instructor, role=Role.INSTRUCTOR)
    return cohort


def test_cohort_create_makes_the_creator_its_instructor(user):
    course = CourseFactory()
    cohort = cohort_services.cohort_create(
        created_by=user, name="Evening group", course=course, weekly_target=4
    )
    membership = CohortMembership.objects.get(cohort=cohort)
    assert (membership.user, membership.role, cohort.weekly_target) == (user, Role.INSTRUCTOR, 4)


def test_cohort_create_view_redirects_to_invites(client, user):
    course = CourseFactory()
    client.force_login(user)
    response = client.post(
        reverse("courses:cohort-create"),
        {"name": "Evening group", "course": course.pk, "weekly_target_kind": "lessons", "weekly_target": 3},
    )
    cohort = user.cohort_memberships.get().cohort
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:cohort-invites", kwargs={"cohort_id": cohort.pk})


def test_cohort_create_view_rejects_end_before_start(client, user):
    course = CourseFactory()
    client.force_login(user)
    response = client.post(
        reverse("courses:cohort-create"),
        {
            "name": "Backwards",
            "course": course.pk,
            "starts_on": "2026-05-10",
            "ends_on": "2026-05-01",
            "weekly_target_kind": "lessons",
            "weekly_target": 3,
        },
    )
    assert response.status_code == 200
    assert "The end date must be on or after the start date." in response.text
    assert not CohortMembership.objects.exists()


def test_invite_create_and_join_then_join_twice_is_harmless(client, cohort, instructor, learner):
    invite = cohort_services.invite_create(cohort=cohort, created_by=instructor)
    client.force_login(learner)
    url = reverse("courses:cohort-join", kwargs={"code": invite.code})
    first = client.post(url)
    second = client.post(url, follow=True)
    assert first.status_code == 302
    assert first["Location"] == reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk})
    assert "You are already in “Spring cohort”." in second.text
    membership = CohortMembership.objects.get(cohort=cohort, user=learner)
    assert (membership.role, membership.invite, membership.removed_at) == (Role.LEARNER, invite, None)


def test_join_page_for_anonymous_offers_signup_that_continues_into_the_join(client, cohort):
    invite = InviteFactory(cohort=cohort)
    url = reverse("courses:cohort-join", kwargs={"code": invite.code})
    response = client.get(url)
    assert response.status_code == 200
    assert f'href="/accounts/signup/?next={url}"' in response.text
    posted = client.post(url)
    assert posted["Location"] == f"/accounts/login/?next={url}"


def test_signup_with_next_comes_back_to_the_join_page(client, cohort):
    invite = InviteFactory(cohort=cohort)
    url = reverse("courses:cohort-join", kwargs={"code": invite.code})
    response = client.post(
        f"/accounts/signup/?next={url}",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
            "next": url,
        },
    )
    assert response["Location"] == url
    assert client.post(url).status_code == 302
    assert CohortMembership.objects.filter(cohort=cohort, user__username="newbie").exists()


def test_expired_invite_shows_a_clear_page_and_does_not_join(client, cohort, learner):
    invite = InviteFactory(cohort=cohort, expires_at=timezone.now() + timedelta(days=1))
    client.force_login(learner)
    url = reverse("courses:cohort-join", kwargs={"code": invite.code})
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = client.post(url)
    assert response.status_code == 410
    assert "This invite link has expired" in response.text
    assert not CohortMembership.objects.filter(user=learner).exists()


def test_revoked_invite_shows_a_clear_page(client, cohort, instructor, learner):
    invite = InviteFactory(cohort=cohort)
    client.force_login(instructor)
    revoke = client.post(
        reverse("courses:cohort-invite-revoke", kwargs={"cohort_id": cohort.pk, "invite_id": invite.pk})
    )
    assert revoke.status_code == 302
    client.force_login(learner)
    response = client.get(reverse("courses:cohort-join", kwargs={"code": invite.code}))
    assert response.status_code == 410
    assert "This invite link was revoked" in response.text
    invite.refresh_from_db()
    with pytest.raises(cohort_services.InviteUnavailable) as exc:
        cohort_services.cohort_join(invite=invite, user=learner)
    assert exc.value.state == "revoked"


def test_unknown_invite_code_is_404(client, learner):
    client.force_login(learner)
    assert client.get("/cohorts/join/nope/").status_code == 404
    assert client.get("/cohorts/join/" + "x" * 500 + "/").status_code == 404


def test_instructor_invite_makes_a_co_instructor(cohort, user):
    invite = InviteFactory(cohort=cohort, role=Role.INSTRUCTOR)
    membership, joined = cohort_services.cohort_join(invite=invite, user=user)
    assert (membership.role, joined) == (Role.INSTRUCTOR, True)


def test_learner_leaves_and_can_rejoin(client, cohort, learner):
    MembershipFactory(cohort=cohort, user=learner)
    client.force_login(learner)
    response = client.post(reverse("courses:cohort-leave", kwargs={"cohort_id": cohort.pk}))
    membership = CohortMembership.objects.get(cohort=cohort, user=learner)
    assert response["Location"] == reverse("courses:cohort-list")
    assert (membership.removal, membership.removed_at is not None) == ("left", True)
    membership, joined = cohort_services.cohort_join(invite=InviteFactory(cohort=cohort), user=learner)
    assert (joined, membership.removed_at, membership.removal) == (True, None, "")


def test_only_instructor_cannot_leave(client, cohort, instructor):
    client.force_login(instructor)
    response = client.post(reverse("courses:cohort-leave", kwargs={"cohort_id": cohort.pk}), follow=True)
    assert "You are this cohort&#x27;s only instructor" in response.text
    assert CohortMembership.objects.get(cohort=cohort, user=instructor).removed_at is None


def test_removed_learner_keeps_history_and_cannot_rejoin_by_link(client, cohort, instructor, learner):
    from tests.courses.cohort_factories import AnswerFactory

    MembershipFactory(cohort=cohort, user=learner)
    AnswerFactory(user=learner)
    client.force_login(instructor)
    response = client.post(
        reverse("courses:cohort-learner-remove", kwargs={"cohort_id": cohort.pk, "user_id": learner.pk})
    )
    assert response.status_code == 302
    membership = CohortMembership.objects.get(cohort=cohort, user=learner)
    assert membership.removal == "removed"
    assert learner.answers.count() == 1
    client.force_login(learner)
    join = client.post(reverse("courses:cohort-join", kwargs={"code": InviteFactory(cohort=cohort).code}))
    assert join.status_code == 403
    assert "An instructor removed you from this cohort" in join.text


def test_remove_an_instructor_or_unknown_user_is_404(client, cohort, instructor):
    client.force_login(instructor)
    for user_id in (instructor.pk, 999_999):
        url = reverse("courses:cohort-learner-remove", kwargs={"cohort_id": cohort.pk, "user_id": user_id})
        assert client.post(url).status_code == 404


def test_cohort_list_shows_teaching_and_learning(
    client, cohort, instructor, learner, django_assert_num_queries
):
    for _ in range(3):
        MembershipFactory(cohort=CohortFactory(), user=learner)
    MembershipFactory(cohort=cohort, user=learner)
    client.force_login(learner)
    with django_assert_num_queries(4):  # session, user, memberships, the navigation's review count
        response = client.get(reverse("courses:cohort-list"))
    assert response.text.count('action="/cohorts/') == 4
    assert "Spring cohort" in response.text
    assert "You don't teach a cohort." in response.text


@pytest.mark.parametrize("name", ["cohort-settings", "cohort-invites"])
def test_management_pages_are_404_for_learners_and_other_instructors(client, cohort, learner, name):
    MembershipFactory(cohort=cohort, user=learner)
    other = UserFactory()
    MembershipFactory(cohort=CohortFactory(), user=other, role=Role.INSTRUCTOR)
    url = reverse(f"courses:{name}", kwargs={"cohort_id": cohort.pk})
    for user in (learner, other):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"


def test_invite_page_creates_expiring_link(client, cohort, instructor):
    client.force_login(instructor)
    url = reverse("courses:cohort-invites", kwargs={"cohort_id": cohort.pk})
    response = client.post(url, {"role": "learner", "expires_in": "7"})
    invite = cohort.invites.get()
    assert response.status_code == 302
    assert timedelta(days=6, hours=23) < invite.expires_at - timezone.now() <= timedelta(days=7)
    page = client.get(url)
    assert f"/cohorts/join/{invite.code}/" in page.text


def test_invite_page_rejects_bad_input(client, cohort, instructor):
    client.force_login(instructor)
    url = reverse("courses:cohort-invites", kwargs={"cohort_id": cohort.pk})
    response = client.post(url, {"role": "admin", "expires_in": "9999"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert not cohort.invites.exists()


def test_admin_lists_cohorts_with_members(client, cohort):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert "Spring cohort" in client.get("/admin/courses/cohort/").text
    change = client.get(f"/admin/courses/cohort/{cohort.pk}/change/")
    assert change.status_code == 200
    assert "instructor" in change.text


@pytest.mark.parametrize("name", ["revoke", "remove", "message"])
def test_instructor_posts_are_404_for_learners_and_other_instructors(
    client, cohort, learner, other_learner, name
):
    MembershipFactory(cohort=cohort, user=learner)
    MembershipFactory(cohort=cohort, user=other_learner)
    invite = InviteFactory(cohort=cohort)
    outsider = UserFactory()
    MembershipFactory(cohort=CohortFactory(), user=outsider, role=Role.INSTRUCTOR)
    url = {
        "revoke": reverse(
            "courses:cohort-invite-revoke", kwargs={"cohort_id": cohort.pk, "invite_id": invite.pk}
        ),
        "remove": reverse(
            "courses:cohort-learner-remove", kwargs={"cohort_id": cohort.pk, "user_id": other_learner.pk}
        ),
        "message": reverse("courses:cohort-message", kwargs={"cohort_id": cohort.pk}),
    }[name]
    data = {"mode": "announcement", "title": "Hi", "body": "Hi"}
    for user in (learner, outsider):
        client.force_login(user)
        assert client.post(url, data).status_code == 404
    client.logout()
    assert client.post(url, data)["Location"] == f"/accounts/login/?next={url}"
    invite.refresh_from_db()
    assert invite.revoked_at is None
    assert CohortMembership.objects.get(cohort=cohort, user=other_learner).removed_at is None


def test_leave_a_cohort_you_are_not_in_is_404(client, cohort, user):
    client.force_login(user)
    assert client.post(reverse("courses:cohort-leave", kwargs={"cohort_id": cohort.pk})).status_code == 404
    assert client.post("/cohorts/999999/leave/").status_code == 404


def test_revoking_another_cohorts_invite_is_404(client, cohort, instructor):
    foreign = InviteFactory(cohort=CohortFactory())
    client.force_login(instructor)
    url = reverse("courses:cohort-invite-revoke", kwargs={"cohort_id": cohort.pk, "invite_id": foreign.pk})
    assert client.post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_create_and_list_need_login(client):
    for name in ("cohort-list", "cohort-create"):
        url = reverse(f"courses:{name}")
        assert client.get(url)["Location"] == f"/accounts/login/?next={url}"
