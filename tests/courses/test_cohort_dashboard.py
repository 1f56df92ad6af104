"""The instructor dashboard, the per-learner page, the learner's own page and question analytics."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from courses import selectors
from courses.models import CohortMembership
from tests.courses.cohort_factories import (
    AnswerFactory,
    AttemptFactory,
    CohortFactory,
    KeyAreaFactory,
    LessonFactory,
    MembershipFactory,
    QuestionFactory,
    ReviewCardFactory,
    TopicFactory,
    complete_lesson,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Role = CohortMembership.Role
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def course_setup(frozen):
    topic = TopicFactory()
    lessons = [LessonFactory(topic=topic) for _ in range(4)]
    areas = [KeyAreaFactory(section__lesson=lessons[i], name=f"Area {i}") for i in range(2)]
    questions = []
    for i in range(3):
        q = QuestionFactory(section=areas[i % 2].section, level="mid")
        q.key_areas.add(areas[i % 2])
        questions.append(q)
    return {"course": topic.course, "lessons": lessons, "areas": areas, "questions": questions}


@pytest.fixture
def cohort(course_setup, instructor):
    cohort = CohortFactory(course=course_setup["course"], weekly_target=2)
    MembershipFactory(
        cohort=cohort, user=instructor, role=Role.INSTRUCTOR, joined_at=NOW - timedelta(days=30)
    )
    return cohort


def add_learners(cohort, course_setup, n: int) -> list:
    learners = []
    for i in range(n):
        user = UserFactory()
        MembershipFactory(cohort=cohort, user=user, joined_at=NOW - timedelta(days=20))
        complete_lesson(user, course_setup["lessons"][0], at=NOW - timedelta(days=i % 10))
        AnswerFactory(user=user, question=course_setup["questions"][0], answered_at=NOW - timedelta(days=1))
        AttemptFactory(user=user, level="senior", started_at=NOW - timedelta(days=2), score=0.7)
        ReviewCardFactory(user=user, question=course_setup["questions"][1], due=NOW - timedelta(hours=1))
        learners.append(user)
    return learners


def test_learner_row_figures(cohort, course_setup, learner):
    MembershipFactory(cohort=cohort, user=learner, joined_at=NOW - timedelta(days=20))
    lessons, questions = course_setup["lessons"], course_setup["questions"]
    complete_lesson(learner, lessons[0], at=NOW - timedelta(days=10))
    complete_lesson(learner, lessons[1], at=NOW - timedelta(days=2))
    AnswerFactory(user=learner, question=questions[0], score=1.0, answered_at=NOW - timedelta(days=1))
    AnswerFactory(user=learner, question=questions[2], score=0.0, answered_at=NOW - timedelta(days=1))
    AnswerFactory(
        user=learner, question=questions[1], score=0.0, mode="review", answered_at=NOW - timedelta(hours=3)
    )
    AttemptFactory(user=learner, level="mid", started_at=NOW - timedelta(days=5), score=0.4)
    AttemptFactory(user=learner, level="mid", started_at=NOW - timedelta(days=4), score=0.8)
    AttemptFactory(
        user=learner, level="staff", started_at=NOW - timedelta(hours=1), submitted_at=None, score=None
    )
    ReviewCardFactory(user=learner, question=questions[1], due=NOW - timedelta(minutes=1))
    ReviewCardFactory(user=learner, question=questions[0], due=NOW + timedelta(days=1))
    ctx = selectors.cohort_context(cohort=cohort)
    row = selectors.learner_row(ctx=ctx, user_id=learner.pk)
    assert (row.lessons_completed, row.lessons_total, row.lessons_week, row.progress_percent) == (2, 4, 1, 50)
    assert row.last_active == NOW - timedelta(hours=1)
    assert row.mock_best == {"mid": 0.8, "senior": None, "staff": None}
    assert (row.mock_count, row.review_due, row.review_done_week, row.experiments_run) == (2, 1, 1, 0)
    # Area 0: questions 0 and 2 (scores 1.0 and 0.0); area 1: question 1 (review, 0.0)
    assert [(c.name, s, n) for c, s, n in row.mastery] == [("Area 0", 0.5, 2), ("Area 1", 0.0, 1)]
    assert row.at_risk == ["Behind weekly target: 1 of 2 lessons in the last 7 days"]
    assert row.online is False


def test_removed_learner_is_not_a_row(cohort, course_setup, learner):
    MembershipFactory(cohort=cohort, user=learner, removed_at=NOW, removal="removed")
    ctx = selectors.cohort_context(cohort=cohort)
    assert selectors.learner_row(ctx=ctx, user_id=learner.pk) is None


@pytest.mark.parametrize("size", [5, 50])
def test_cohort_dashboard_query_count(
    client, cohort, course_setup, instructor, size, django_assert_num_queries
):
    add_learners(cohort, course_setup, size)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    # session, user, cohort, the material version (the page's cache key; read at most every 5 s per process),
    # key areas + their questions, lesson count, learners (one query), weekly chart, announcements, the
    # navigation's review count
    with django_assert_num_queries(11):
        response = client.get(url)
    assert response.status_code == 200
    assert response.text.count('id="learner-row-') == size


@pytest.mark.parametrize("size", [5, 50])
def test_cohort_learner_query_count(
    client, cohort, course_setup, instructor, size, django_assert_num_queries
):
    learners = add_learners(cohort, course_setup, size)
    client.force_login(instructor)
    url = reverse("courses:cohort-learner", kwargs={"cohort_id": cohort.pk, "user_id": learners[0].pk})
    # session, user, cohort, key areas + their questions, lesson count, the row, lessons, answers, attempts,
    # the navigation's review count
    with django_assert_num_queries(11):
        response = client.get(url)
    assert response.status_code == 200
    assert f"<h1>{learners[0].name}</h1>" in response.text


@pytest.mark.parametrize("size", [5, 50])
def test_cohort_progress_query_count(client, cohort, course_setup, size, django_assert_num_queries):
    learners = add_learners(cohort, course_setup, size)
    client.force_login(learners[0])
    url = reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk})
    # session, user, membership, key areas + their questions, lesson count, row, announcements, mark seen,
    # 3 activity, the navigation's review count
    with django_assert_num_queries(13):
        response = client.get(url)
    assert response.status_code == 200
    assert "my progress" in response.text


@pytest.mark.parametrize("size", [5, 50])
def test_cohort_questions_query_count(
    client, cohort, course_setup, instructor, size, django_assert_num_queries
):
    add_learners(cohort, course_setup, size)
    client.force_login(instructor)
    url = reverse("courses:cohort-questions", kwargs={"cohort_id": cohort.pk})
    # session, user, cohort, learner totals, first answers, questions, the navigation's review count
    with django_assert_num_queries(7):
        response = client.get(url)
    assert response.status_code == 200
    assert response.text.count('id="question-') == 1


def test_dashboard_sort_and_filter_with_htmx_returns_the_table_partial(
    client, cohort, course_setup, instructor
):
    a, b, c = add_learners(cohort, course_setup, 3)
    complete_lesson(b, course_setup["lessons"][1], at=NOW)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    response = client.get(
        url + "?sort=lessons&dir=desc", headers={"HX-Request": "true", "HX-Target": "learners-table"}
    )
    assert response.text.lstrip().startswith('<div id="learners-table"')
    assert "<html" not in response.text
    order = [response.text.index(f'id="learner-row-{u.pk}"') for u in (b, a, c)]
    assert order[0] == min(order)
    searched = client.get(url + f"?q={c.username}")
    assert searched.text.count('id="learner-row-') == 1
    assert f'id="learner-row-{c.pk}"' in searched.text


def test_dashboard_bad_parameters_fall_back_to_defaults(client, cohort, course_setup, instructor):
    add_learners(cohort, course_setup, 3)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    response = client.get(url + "?sort=__class__&dir=sideways&show=<script>&q=" + "x" * 5000)
    assert response.status_code == 200
    assert "<script>" not in response.text.split("<main", 1)[1].split("</main>")[0].replace(
        '<script type="module"', ""
    )


@pytest.mark.parametrize(
    "name",
    [
        "cohort-dashboard",
        "cohort-questions",
        "cohort-export-learners",
        "cohort-export-questions",
    ],
)
def test_instructor_pages_are_404_for_learner_other_instructor_and_login_for_anonymous(
    client, cohort, learner, name
):
    MembershipFactory(cohort=cohort, user=learner)
    other = UserFactory()
    MembershipFactory(cohort=CohortFactory(), user=other, role=Role.INSTRUCTOR)
    url = reverse(f"courses:{name}", kwargs={"cohort_id": cohort.pk})
    for user in (learner, other):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"


def test_per_learner_page_permissions(client, cohort, instructor, learner):
    MembershipFactory(cohort=cohort, user=learner)
    outsider = UserFactory()
    url = reverse("courses:cohort-learner", kwargs={"cohort_id": cohort.pk, "user_id": learner.pk})
    client.force_login(learner)
    assert client.get(url).status_code == 404
    client.force_login(instructor)
    assert client.get(url).status_code == 200
    outsider_url = reverse("courses:cohort-learner", kwargs={"cohort_id": cohort.pk, "user_id": outsider.pk})
    assert client.get(outsider_url).status_code == 404
    assert client.get("/cohorts/999999/learners/1/").status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_own_progress_page_is_404_for_non_learners(client, cohort, instructor, user):
    url = reverse("courses:cohort-progress", kwargs={"cohort_id": cohort.pk})
    for someone in (instructor, user):
        client.force_login(someone)
        assert client.get(url).status_code == 404


def test_dashboard_row_equals_the_pushed_row(client, cohort, course_setup, instructor):
    from courses.cohort_views import learner_row_html

    (learner,) = add_learners(cohort, course_setup, 1)
    client.force_login(instructor)
    page = client.get(reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})).text
    pushed = learner_row_html(cohort_id=cohort.pk, user_id=learner.pk).strip()
    assert pushed.startswith(f'<tr id="learner-row-{learner.pk}"')
    assert pushed in page


# --- Pagination and the cached figures ---------------------------------------------------------


def _dashboard(client, cohort, query: str = "") -> str:
    return client.get(reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk}) + query).text


def _heat_rows(page: str) -> int:
    """Learner rows of the key-area mastery table (the cohort average row has a class)."""
    return page.split('id="heat-heading"')[1].split("</section>")[0].count('<tr><th scope="row">')


@pytest.mark.parametrize("size", [5, 50])
def test_cached_dashboard_query_count(
    client, cohort, course_setup, instructor, size, django_assert_num_queries
):
    add_learners(cohort, course_setup, size)
    client.force_login(instructor)
    _dashboard(client, cohort)
    # session, user, cohort (the permission check): the whole page comes from the cache until the cohort's
    # version moves (the material version is remembered for 5 s)
    with django_assert_num_queries(3):
        page = _dashboard(client, cohort)
    assert page.count('id="learner-row-') == size


def test_cached_page_gets_this_responses_nonce_and_a_working_csrf_token(
    client, cohort, course_setup, instructor
):
    add_learners(cohort, course_setup, 2)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    first, second = client.get(url), client.get(url)
    nonces = []
    for response in (first, second):
        nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
        assert f'nonce="{nonce}"' in response.text
        assert "placeholder" not in response.text
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    token = second.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    client.handler.enforce_csrf_checks = True
    posted = client.post(
        reverse("courses:cohort-message", kwargs={"cohort_id": cohort.pk}),
        {"csrfmiddlewaretoken": token, "mode": "announcement", "title": "Hi", "body": "Read lesson 2."},
    )
    assert posted.status_code == 302


def test_cached_page_is_per_instructor_and_checked_before_the_cache(client, cohort, course_setup, instructor):
    add_learners(cohort, course_setup, 2)
    co_teacher = UserFactory(display_name="Second Teacher")
    MembershipFactory(cohort=cohort, user=co_teacher, role=Role.INSTRUCTOR)
    stranger = UserFactory()
    MembershipFactory(cohort=CohortFactory(), user=stranger, role=Role.INSTRUCTOR)
    client.force_login(instructor)
    assert "Second Teacher" not in _dashboard(client, cohort)
    client.force_login(co_teacher)
    assert "Second Teacher" in _dashboard(client, cohort)  # their own navigation, not the cached one
    client.force_login(stranger)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    assert client.get(url).status_code == 404


def test_announcement_and_cohort_settings_show_on_the_next_load(
    client, cohort, course_setup, instructor, django_capture_on_commit_callbacks
):
    from courses import cohort_services

    add_learners(cohort, course_setup, 1)
    client.force_login(instructor)
    assert "Bring questions" not in _dashboard(client, cohort)
    with django_capture_on_commit_callbacks(execute=True):
        cohort_services.announcement_post(
            cohort=cohort, author=instructor, title="Bring questions", body="Friday."
        )
    assert "Bring questions" in _dashboard(client, cohort)
    cohort.name = "Renamed cohort"
    cohort.save()
    assert "Renamed cohort" in _dashboard(client, cohort)


def test_htmx_table_and_pages_with_messages_are_never_served_from_the_page_cache(
    client, cohort, course_setup, instructor
):
    add_learners(cohort, course_setup, 3)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    full = client.get(url).text
    partial = client.get(url, headers={"HX-Request": "true", "HX-Target": "learners-table"}).text
    assert "<html" in full
    assert "<html" not in partial
    assert partial.count('id="learner-row-') == 3
    # Posting adds a pending message; without its on-commit bump (this test's transaction never commits)
    # the cohort's version, and so the cached page's key, stay the same: the message must still show.
    followed = client.post(
        reverse("courses:cohort-message", kwargs={"cohort_id": cohort.pk}),
        {"mode": "announcement", "title": "Hi", "body": "Read lesson 2."},
        follow=True,
    )
    assert "Announcement posted." in followed.text
    assert "Announcement posted." not in client.get(url).text  # shown once, then the cached page again


@pytest.mark.slow
def test_table_and_heat_map_are_paginated(client, cohort, course_setup, instructor):
    learners = add_learners(cohort, course_setup, 53)
    client.force_login(instructor)
    first = _dashboard(client, cohort)
    assert first.count('id="learner-row-') == 50
    assert "Page 1 of 2" in first
    assert 'rel="next"' in first
    assert _heat_rows(first) == 50
    second = _dashboard(client, cohort, "?page=2")
    assert second.count('id="learner-row-') == 3
    assert 'data-append-new="true"' in second
    assert _dashboard(client, cohort, "?page=999").count('id="learner-row-') == 3
    assert _dashboard(client, cohort, "?page=-1&heat=x").count('id="learner-row-') == 50
    heat = _dashboard(client, cohort, "?heat=2")
    assert _heat_rows(heat) == 3
    last = sorted(learners, key=lambda u: u.username)[-1]
    assert f">{last.name}</th>" in heat.split('id="heat-heading"')[1]
    partial = client.get(
        reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk}) + "?page=2",
        headers={"HX-Request": "true", "HX-Target": "learners-table"},
    ).text
    assert partial.count('id="learner-row-') == 3


def test_at_risk_summary_names_ten_and_messages_everyone(client, cohort, course_setup, instructor):
    learners = add_learners(cohort, course_setup, 12)  # one lesson a week against a target of two
    client.force_login(instructor)
    page = _dashboard(client, cohort)
    summary = page.split('id="at-risk-heading"')[1].split("</section>")[0]
    assert summary.count("<li>") == 10
    assert "See all 12 at-risk learners in the table" in summary
    assert summary.count('name="recipients"') == 1  # one hidden input, the ids space-separated
    ids = summary.split('name="recipients" value="')[1].split('"')[0]
    assert sorted(map(int, ids.split())) == sorted(u.pk for u in learners)


def test_activity_after_commit_refreshes_the_cached_row(
    client, cohort, course_setup, instructor, django_capture_on_commit_callbacks
):
    from courses import services
    from courses.cohort_views import learner_row_html

    (learner,) = add_learners(cohort, course_setup, 1)
    client.force_login(instructor)
    assert "1 / 4" in _dashboard(client, cohort)
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_complete(user=learner, lesson=course_setup["lessons"][1])
    page = _dashboard(client, cohort)
    assert "2 / 4" in page
    assert learner_row_html(cohort_id=cohort.pk, user_id=learner.pk).strip() in page


def test_membership_change_refreshes_the_cached_rows(
    client, cohort, course_setup, instructor, django_capture_on_commit_callbacks
):
    from courses import cohort_services

    a, b = add_learners(cohort, course_setup, 2)
    client.force_login(instructor)
    assert _dashboard(client, cohort).count('id="learner-row-') == 2
    membership = CohortMembership.objects.get(cohort=cohort, user=a)
    with django_capture_on_commit_callbacks(execute=True):
        cohort_services.learner_remove(membership=membership)
    page = _dashboard(client, cohort)
    assert page.count('id="learner-row-') == 1
    assert f'id="learner-row-{b.pk}"' in page


def test_a_rolled_back_change_keeps_the_cached_figures(client, cohort, course_setup, instructor):
    (learner,) = add_learners(cohort, course_setup, 1)
    ctx = selectors.cohort_context(cohort=cohort)
    before = selectors.cohort_cache_key(ctx=ctx)
    from django.db import transaction

    from courses import events

    def publish_then_fail() -> None:
        with transaction.atomic():
            events.publish_learner_activity(user_id=learner.pk, kind="lesson_viewed")
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert selectors.cohort_cache_key(ctx=ctx) == before
    events.bump_cohort_version(cohort.pk)
    assert selectors.cohort_cache_key(ctx=ctx) != before


def test_cached_page_is_per_cohort_for_an_instructor_of_two(client, cohort, course_setup, instructor):
    (mine,) = add_learners(cohort, course_setup, 1)
    evening = CohortFactory(course=course_setup["course"], name="Evening cohort")
    MembershipFactory(cohort=evening, user=instructor, role=Role.INSTRUCTOR)
    theirs = UserFactory()
    MembershipFactory(cohort=evening, user=theirs)
    client.force_login(instructor)
    assert f'id="learner-row-{mine.pk}"' in _dashboard(client, cohort)
    page = _dashboard(client, evening)  # same instructor and view, the first cohort's page cached: not served
    assert "<h1>Evening cohort</h1>" in page
    assert f'id="learner-row-{theirs.pk}"' in page
    assert f'id="learner-row-{mine.pk}"' not in page
    assert f"<h1>{cohort.name}</h1>" in _dashboard(client, cohort)


def test_instructor_removed_after_the_page_was_cached_gets_404(client, cohort, course_setup, instructor):
    add_learners(cohort, course_setup, 1)
    client.force_login(instructor)
    url = reverse("courses:cohort-dashboard", kwargs={"cohort_id": cohort.pk})
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # from the page cache
    # No event, so the cohort's version (part of the page's key) stays: the permission check comes first.
    CohortMembership.objects.filter(cohort=cohort, user=instructor).update(removed_at=NOW, removal="left")
    assert client.get(url).status_code == 404


def test_learner_progress_replaces_the_cached_page(
    client, cohort, course_setup, instructor, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from courses import services

    (learner,) = add_learners(cohort, course_setup, 1)
    client.force_login(instructor)
    _dashboard(client, cohort)
    with django_assert_num_queries(3):  # served from the page cache
        assert "1 / 4" in _dashboard(client, cohort)
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_complete(user=learner, lesson=course_setup["lessons"][2])
    # the version moved: rendered again (the material version is still remembered, so one query fewer than cold)
    with django_assert_num_queries(10):
        assert "2 / 4" in _dashboard(client, cohort)
    with django_assert_num_queries(3):  # and cached again
        assert "2 / 4" in _dashboard(client, cohort)


# --- Cached rows brought up to date learner by learner -------------------------------------------


def _rows(cohort) -> list:
    ctx = selectors.cohort_context(cohort=cohort)
    return selectors.cohort_rows(ctx=ctx, key=selectors.cohort_cache_key(ctx=ctx))


def _named_only(captured) -> bool:
    """The rows query was for chosen learners (WHERE ... "accounts_user"."id" IN (...)), not the cohort."""
    return '"accounts_user"."id" IN (' in captured.captured_queries[-1]["sql"]


def _computed_in_full(cohort) -> list:
    return list(selectors.learner_rows(ctx=selectors.cohort_context(cohort=cohort)))


def test_changes_recompute_only_the_learners_they_name(
    cohort, course_setup, instructor, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from courses import cohort_services, events, services
    from courses.models import LearnerConnection

    a, b, c, d = add_learners(cohort, course_setup, 4)
    _rows(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_complete(user=a, lesson=course_setup["lessons"][3])
        LearnerConnection.objects.create(user=b, channel_name="b.1", connected_at=NOW, last_seen_at=NOW)
        events.publish_presence(user_id=b.pk)
        AnswerFactory(user=c, question=course_setup["questions"][2], score=0.1, answered_at=NOW)
        events.publish_learner_activity(user_id=c.pk, kind="question_answered")  # as quizzes' answer_record
        cohort_services.learner_remove(membership=CohortMembership.objects.get(cohort=cohort, user=d))
        cohort_services.announcement_post(cohort=cohort, author=instructor, title="Hi", body="Hi")
    ctx = selectors.cohort_context(cohort=cohort)
    key = selectors.cohort_cache_key(ctx=ctx)
    with django_assert_num_queries(1) as captured:  # the named learners only, not the cohort
        rows = selectors.cohort_rows(ctx=ctx, key=key)
    assert _named_only(captured)
    assert rows == _computed_in_full(cohort)
    assert [r.user_id for r in rows] == [u.pk for u in sorted((a, b, c), key=lambda u: u.username)]
    assert next(r for r in rows if r.user_id == b.pk).online is True


def test_rows_are_computed_in_full_when_a_learner_joins_a_change_is_unknown_or_a_minute_passed(
    client, cohort, course_setup, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from courses import cohort_services, events

    a, b = add_learners(cohort, course_setup, 2)
    _rows(cohort)
    newcomer = UserFactory(username="aaa-newcomer")
    invite = cohort_services.invite_create(cohort=cohort, created_by=a, role=Role.LEARNER, expires_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        cohort_services.cohort_join(invite=invite, user=newcomer)
    rows = _rows(cohort)  # in full: the newcomer takes their place in name order
    assert rows == _computed_in_full(cohort)
    assert rows[0].user_id == newcomer.pk

    events.bump_cohort_version(cohort.pk)  # a change that names nobody: everything again
    ctx = selectors.cohort_context(cohort=cohort)
    with django_assert_num_queries(1) as captured:
        selectors.cohort_rows(ctx=ctx, key=selectors.cohort_cache_key(ctx=ctx))
    assert not _named_only(captured)

    complete_lesson(b, course_setup["lessons"][2], at=NOW)  # no event: seen by the next full computation
    with time_machine.travel(NOW + timedelta(seconds=selectors.ROWS_TTL // 2), tick=False):
        events.bump_cohort_version(cohort.pk, user_id=a.pk, kind="presence")
        assert next(r for r in _rows(cohort) if r.user_id == b.pk).lessons_completed == 1  # a only
    with time_machine.travel(NOW + timedelta(seconds=selectors.ROWS_TTL), tick=False):
        events.bump_cohort_version(cohort.pk, user_id=a.pk, kind="presence")
        assert _rows(cohort) == _computed_in_full(cohort)  # the last full computation is a minute old
        assert next(r for r in _rows(cohort) if r.user_id == b.pk).lessons_completed == 2


def test_weekly_chart_is_reused_after_changes_that_cannot_move_it(
    cohort, course_setup, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from courses import events, services

    (learner,) = add_learners(cohort, course_setup, 1)
    ctx = selectors.cohort_context(cohort=cohort)
    before = selectors.cohort_weekly_chart(ctx=ctx, key=selectors.cohort_cache_key(ctx=ctx))
    with django_capture_on_commit_callbacks(execute=True):
        events.publish_presence(user_id=learner.pk)
        events.publish_learner_activity(user_id=learner.pk, kind="question_answered")
    with django_assert_num_queries(0):
        assert selectors.cohort_weekly_chart(ctx=ctx, key=selectors.cohort_cache_key(ctx=ctx)) == before
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_complete(user=learner, lesson=course_setup["lessons"][1])
    after = selectors.cohort_weekly_chart(ctx=ctx, key=selectors.cohort_cache_key(ctx=ctx))
    assert after == selectors.weekly_lessons_chart(cohort=cohort, now=ctx.now)
    assert sum(n for _, n in after) == sum(n for _, n in before) + 1
