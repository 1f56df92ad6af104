"""seed_demo: a meaningful demo cohort, idempotent, refused under production settings."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses import selectors
from courses.models import Cohort, CohortMembership, LessonProgress
from quizzes.models import Answer, Attempt, ReviewCard

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def imported(settings):
    call_command(
        "import_material", str(settings.MATERIAL_DIR / "communication-protocols.txt"), stdout=StringIO()
    )
    call_command("import_questions", stdout=StringIO())


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (Cohort, CohortMembership, LessonProgress, Answer, Attempt, ReviewCard)
    )


def test_seed_demo_creates_a_meaningful_cohort_once(imported, django_assert_max_num_queries):
    out = StringIO()
    with django_assert_max_num_queries(40):  # bulk-created, whatever the amount of activity
        call_command("seed_demo", stdout=out)
    assert "30 learners" in out.getvalue()
    cohort = Cohort.objects.get()
    assert cohort.memberships.get(role="instructor").user.username == "instructor"
    learners = cohort.memberships.filter(role="learner")
    assert learners.count() == 30
    assert learners.filter(user__username="learner").exists()
    assert learners.get(user__username="learner").user.check_password("handshake")

    ctx = selectors.cohort_context(cohort=cohort)
    rows = selectors.learner_table(ctx=ctx)
    assert len({row.lessons_completed for row in rows}) >= 5  # varied progress
    assert any(any(r.startswith("No activity for") for r in row.at_risk) for row in rows)
    assert any(any(r.startswith("Mastery below 50%") for r in row.at_risk) for row in rows)
    assert sum(1 for row in rows if not row.at_risk) >= 5
    assert any(row.mock_best["mid"] is not None for row in rows)
    flags = {flag for stats in selectors.question_stats(cohort=cohort) for flag in stats.flags}
    assert flags >= {"too easy", "negative discrimination"}

    before = counts()
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "already present" in again.getvalue()
    assert counts() == before


def test_seed_demo_is_refused_under_production_settings(settings):
    settings.HANDSHAKE_DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("seed_demo", stdout=StringIO())
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_seed_demo_without_material_creates_only_the_users():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "no course imported yet" in out.getvalue()
    assert Cohort.objects.count() == 0
