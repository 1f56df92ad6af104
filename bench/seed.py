"""Build the bench database: migrate, import the material and question banks, seed a large cohort.

Run as ``python -m bench.seed --learners 500 --weeks 52`` with DATABASE_URL pointing at the bench
database (bench/run.py does this). Prints one JSON line: the paths and cookies the benchmarks use.

The cohort reuses courses/demo.py's generator (plausible lessons, answers, mock interviews, review
cards) with its name list and duration widened, so the dashboard sees the data shapes it was built
for, at 500 learners and a year of activity.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta

CHUNK = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    for path in sorted(settings.MATERIAL_DIR.glob("*.txt")):
        call_command("import_material", str(path), verbosity=0)
    call_command("import_questions", verbosity=0)

    from accounts.models import User
    from courses import demo
    from courses.models import Cohort, CohortInvite, CohortMembership
    from lessons.models import Lesson

    # Widen the demo generator: many learners, a long cohort (module globals it read at call time).
    # It is quadratic in the learners of one call (review pools scan every card so far), so it
    # runs in chunks of CHUNK learners, each its own cohort, whose memberships then move into one.
    base_names, base_cohort = demo.NAMES, demo.DEMO_COHORT
    names = [
        (f"bench.learner{i:04d}", base_names[i % len(base_names)][1], f"Bench{i:04d}")
        for i in range(args.learners)
    ]
    demo.WEEKS = args.weeks
    now = timezone.now()
    cohorts = []
    try:
        for start in range(0, args.learners, CHUNK):
            demo.NAMES = names[start : start + CHUNK]
            demo.DEMO_COHORT = f"Bench cohort: {args.learners} learners, {args.weeks} weeks ({start})"
            demo.demo_seed(now=now, learners=len(demo.NAMES))
            cohorts.append(Cohort.objects.get(name=demo.DEMO_COHORT))
            CohortInvite.objects.filter(cohort=cohorts[-1]).delete()  # its fixed code is unique
    finally:
        demo.NAMES, demo.DEMO_COHORT = base_names, base_cohort
    cohort, rest = cohorts[0], cohorts[1:]
    with transaction.atomic():
        CohortMembership.objects.filter(cohort__in=rest, role=CohortMembership.Role.LEARNER).update(
            cohort=cohort
        )
        Cohort.objects.filter(pk__in=[c.pk for c in rest]).delete()
        cohort.name = f"Bench cohort: {args.learners} learners, {args.weeks} weeks"
        cohort.save(update_fields=["name"])
    instructor = User.objects.get(username="instructor")
    learners = CohortMembership.objects.filter(cohort=cohort, role=CohortMembership.Role.LEARNER).count()

    publisher, _ = User.objects.get_or_create(
        username="bench.publisher", defaults={"email": "bench@example.com"}
    )

    def session_for(user: User) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.set_expiry(timedelta(days=1))
        store.save()
        return store.session_key

    # A typical lesson page: the one with the median amount of content.
    lessons = sorted(
        Lesson.objects.select_related("course").prefetch_related("sections"),
        key=lambda lesson: sum(len(s.body_html) for s in lesson.sections.all()),
    )
    lesson = lessons[len(lessons) // 2]
    out = {
        "cohort_id": cohort.pk,
        "cohort_learners": learners,
        "dashboard_path": f"/cohorts/{cohort.pk}/",
        "lesson_path": f"/courses/{lesson.course.slug}/{lesson.slug}/",
        "lesson_count": len(lessons),
        "search_path": "/search/?q=websocket+reconnect",
        "instructor_session": session_for(instructor),
        "publisher_session": session_for(publisher),
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
    }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
