# ruff: noqa: F811  (fixtures shared with test_cohort_dashboard are imported by name)
"""Streamed CSV exports: content, column names (documented in the README) and constant queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from courses import cohort_views, selectors
from tests.courses.cohort_factories import AnswerFactory
from tests.courses.test_cohort_dashboard import NOW, add_learners, cohort, course_setup, frozen  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


async def fetch_csv(async_client, user, url) -> tuple[object, list[list[str]]]:
    await async_client.aforce_login(user)
    response = await async_client.get(url)
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    return response, list(csv.reader(io.StringIO(body)))


async def test_export_learners_streams_the_table(async_client, cohort, course_setup, instructor):
    from asgiref.sync import sync_to_async

    (learner,) = await sync_to_async(add_learners)(cohort, course_setup, 1)
    url = reverse("courses:cohort-export-learners", kwargs={"cohort_id": cohort.pk})
    response, rows = await fetch_csv(async_client, instructor, url)
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="cohort-{cohort.pk}-learners.csv"'
    area_slugs = [a.slug for a in course_setup["areas"]]
    assert rows[0] == cohort_views.LEARNER_COLUMNS + [f"mastery_{slug}" for slug in area_slugs]
    assert rows[1] == [
        learner.username,
        learner.name,
        learner.email,
        (NOW - timedelta(days=20)).isoformat(),
        "1",
        "4",
        "1",
        NOW.isoformat(),
        "",
        "0.700",
        "",
        "1",
        "1",
        "0",
        "0",
        "Behind weekly target: 1 of 2 lessons in the last 7 days",
        "1.000",
        "",
    ]
    assert len(rows) == 2


async def test_export_questions_streams_the_analytics(async_client, cohort, course_setup, instructor):
    from asgiref.sync import sync_to_async

    learners = await sync_to_async(add_learners)(cohort, course_setup, 5)
    await sync_to_async(AnswerFactory)(
        user=learners[0], question=course_setup["questions"][2], score=0.0, response={"choice": "b"}
    )
    url = reverse("courses:cohort-export-questions", kwargs={"cohort_id": cohort.pk})
    response, rows = await fetch_csv(async_client, instructor, url)
    assert response["Content-Disposition"] == f'attachment; filename="cohort-{cohort.pk}-questions.csv"'
    q0, q2 = course_setup["questions"][0], course_setup["questions"][2]
    assert rows == [
        cohort_views.QUESTION_COLUMNS,
        [q0.key, "mid", "single", "5", "1.000", "", "too easy", "a=5; b=0; c=0", q0.prompt],
        [q2.key, "mid", "single", "1", "0.000", "", "", "a=0; b=1; c=0", q2.prompt],
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("size", [5, 50])
def test_export_learners_query_count(cohort, course_setup, size, django_assert_num_queries):
    add_learners(cohort, course_setup, size)
    ctx = selectors.cohort_context(cohort=cohort)
    with django_assert_num_queries(1):  # the learners query, streamed
        rows = list(cohort_views._learner_csv_rows(ctx))
    assert len(rows) == size + 1


@pytest.mark.django_db
@pytest.mark.parametrize("size", [5, 50])
def test_export_questions_query_count(cohort, course_setup, size, django_assert_num_queries):
    add_learners(cohort, course_setup, size)
    with django_assert_num_queries(3):  # learner totals, first answers, questions
        rows = list(cohort_views._question_csv_rows(cohort))
    assert len(rows) == 2


def test_export_learners_view_query_count_before_streaming(
    client, cohort, course_setup, instructor, django_assert_num_queries
):
    add_learners(cohort, course_setup, 3)
    client.force_login(instructor)
    url = reverse("courses:cohort-export-learners", kwargs={"cohort_id": cohort.pk})
    with django_assert_num_queries(6):  # session, user, cohort, key areas + their questions, lesson count
        response = client.get(url)
    assert response.streaming is True
