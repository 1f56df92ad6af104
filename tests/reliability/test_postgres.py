"""PostgreSQL under stress, with two live Daphne processes on a throwaway database (as production
runs N processes): connections cut mid-flight (pg_terminate_backend, what a restart does to them),
and parallel submissions of one mock interview arriving at both processes at once."""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse, urlunparse

import httpx
import pytest

from tests.conftest import POSTGRES_URL, _reachable, require_service
from tests.reliability import live

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from accounts.models import User
from quizzes import services
from quizzes.models import Answer
user = User.objects.create_user(username="reliable", password="x-reliable-password")
attempt, _ = services.attempt_start(user=user, level="mid", seed=7)
answered = []
for slot in attempt.slots.select_related("question").order_by("position"):
    q = slot.question
    if q.type in ("single", "scenario", "red_flag"):
        services.answer_record(user_id=user.pk, question=q, response={"choice": q.answer}, mode=Answer.Mode.MOCK,
                               now=timezone.now(), attempt=attempt, schedule=False)
        answered.append(q.pk)
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.save()
print(json.dumps({"attempt": attempt.pk, "answered": answered, "session": store.session_key}))
"""

CHECK = """
import json
from quizzes.models import Attempt, ReviewCard
a = Attempt.objects.get(pk=%d)
cards = {c.question_id: c.reps for c in ReviewCard.objects.filter(user_id=a.user_id)}
print(json.dumps({"submitted": a.submitted_at is not None, "attempts": Attempt.objects.filter(user_id=a.user_id).count(),
                  "cards": cards}))
"""


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own argv)
        [sys.executable, "manage.py", *args],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def pg_site(tmp_path_factory):
    require_service("PostgreSQL at " + POSTGRES_URL, _reachable(POSTGRES_URL, 5432))
    import psycopg

    name = f"handshake_rel_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(POSTGRES_URL)._replace(path=f"/{name}"))
    tmp = tmp_path_factory.mktemp("pg")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
    procs: list[live.Proc] = []
    try:
        manage(env, "migrate", "--noinput", "-v0")
        for material in sorted((live.ROOT / "courses" / "material").glob("*.txt")):
            manage(env, "import_material", str(material), "-v0")
        manage(env, "import_questions", "-v0")
        setup = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        for i in range(2):  # persistent connections, as a tuned production would keep them
            procs.append(live.daphne(tmp, database_url=url, name=f"pg{i}", DJANGO_CONN_MAX_AGE="600").start())
        yield {"name": name, "url": url, "env": env, "admin": admin, "servers": procs, **setup}
    finally:
        for proc in procs:
            proc.stop(signal.SIGKILL)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def cut_while_blocked(pg_site, table: str, request) -> tuple[httpx.Response, int]:
    """Hold ``table`` locked so the request blocks inside the database, then cut its connection."""
    import psycopg

    with psycopg.connect(pg_site["url"]) as locker, ThreadPoolExecutor(1) as pool:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        future = pool.submit(request)
        query = (
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        deadline = time.monotonic() + 20
        while not (blocked := pg_site["admin"].execute(query, [pg_site["name"]]).fetchall()):
            assert time.monotonic() < deadline, "the request never reached the database"
            time.sleep(0.05)
        for (pid,) in blocked:
            pg_site["admin"].execute("SELECT pg_terminate_backend(%s)", [pid])
        response = future.result(timeout=30)
        locker.rollback()
    return response, len(blocked)


def test_connections_cut_mid_flight_get_a_503_page_and_later_requests_succeed(pg_site):
    server = pg_site["servers"][0]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        warm = client.get("/courses/")
        failed, cut = cut_while_blocked(pg_site, "courses_course", lambda: client.get("/courses/"))
        later = [client.get("/courses/").status_code for _ in range(3)]
    assert warm.status_code == 200
    assert cut == 1
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "5"
    assert "temporarily unavailable" in failed.text
    assert later == [200, 200, 200]


def attempt_state(pg_site) -> dict:
    return json.loads(
        manage(pg_site["env"], "shell", "-c", CHECK % pg_site["attempt"]).strip().splitlines()[-1]
    )


async def test_a_cut_submission_leaves_nothing_half_written_and_parallel_ones_count_once(pg_site):
    attempt, session = pg_site["attempt"], pg_site["session"]
    cookies = {"sessionid": session, "csrftoken": "r" * 32}
    headers = {"X-CSRFToken": "r" * 32}

    def submit_sync() -> httpx.Response:
        with httpx.Client(base_url=pg_site["servers"][0].url, cookies=cookies, timeout=30) as client:
            return client.post(f"/quizzes/mock/{attempt}/submit/", headers=headers)

    # The submission marks the attempt, then blocks on the review cards: cut it there.
    cut_response, _ = await asyncio.to_thread(cut_while_blocked, pg_site, "quizzes_reviewcard", submit_sync)
    after_cut = await asyncio.to_thread(attempt_state, pg_site)

    async def submit(server: live.Proc) -> tuple[int, str]:
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30) as client:
            response = await client.post(f"/quizzes/mock/{attempt}/submit/", headers=headers)
        return response.status_code, response.headers.get("location", "")

    results = await asyncio.gather(*(submit(pg_site["servers"][i % 2]) for i in range(12)))
    state = await asyncio.to_thread(attempt_state, pg_site)

    assert cut_response.status_code == 503
    assert after_cut == {"submitted": False, "attempts": 1, "cards": {}}  # rolled back whole
    assert {status for status, _ in results} == {302}
    assert {location for _, location in results} == {f"/quizzes/mock/{attempt}/review/"}
    assert state["submitted"] is True
    assert state["attempts"] == 1
    # Each answered question's review card was scheduled by exactly one submission.
    assert pg_site["answered"]
    assert state["cards"] == {str(q): 1 for q in pg_site["answered"]}
