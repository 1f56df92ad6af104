import datetime
import os
import secrets
import subprocess
import sys

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from accounts import throttle
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
INVALID = b"Please enter a correct username and password"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password=None, ip="203.0.113.7", url=None):
    return client.post(
        url or reverse("accounts:login"),
        {"username": username, "password": "wrong-password" if password is None else password},
        REMOTE_ADDR=ip,
    )


def test_four_failures_are_plain_errors_and_the_fifth_locks_out(client, learner):
    with time_machine.travel(START, tick=False):
        for _ in range(4):
            response = _login(client, "learner")
            assert response.status_code == 200
            assert INVALID in response.content
        response = _login(client, "learner")
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert b"Too many failed login attempts. Try again in 15 minutes." in response.content
    assert INVALID not in response.content


def test_locked_out_pair_is_refused_even_with_the_right_password(client, learner):
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            _login(client, "learner")
        response = _login(client, "learner", TEST_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_counts_down_and_ends_after_the_window(client, learner):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            _login(client, "learner")
        clock.shift(datetime.timedelta(minutes=10))
        assert b"Try again in 5 minutes." in _login(client, "learner", TEST_PASSWORD).content
        clock.shift(datetime.timedelta(minutes=4, seconds=30))
        assert b"Try again in 1 minute." in _login(client, "learner", TEST_PASSWORD).content
        clock.shift(datetime.timedelta(seconds=31))
        response = _login(client, "learner", TEST_PASSWORD)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(learner.pk)  # sessions expire in real time


def test_username_case_and_spaces_share_one_count(client, learner):
    with time_machine.travel(START, tick=False):
        for name in ["learner", "LEARNER", " Learner", "learner ", "lEaRnEr"]:
            response = _login(client, name)
    assert response.status_code == 429


def test_another_ip_is_not_locked_out(client, learner):
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            _login(client, "learner", ip="203.0.113.7")
        response = _login(client, "learner", TEST_PASSWORD, ip="198.51.100.9")
    assert response.status_code == 302


def test_another_username_from_the_same_ip_is_not_locked_out(client, learner, other_learner):
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            _login(client, "learner")
        response = _login(client, "other", TEST_PASSWORD)
    assert response.status_code == 302


def test_a_successful_login_clears_the_failures_of_that_pair(client, learner):
    with time_machine.travel(START, tick=False):
        for _ in range(4):
            _login(client, "learner")
        assert _login(client, "learner", TEST_PASSWORD).status_code == 302
        client.logout()
        statuses = [_login(client, "learner").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]


def test_failures_older_than_the_window_are_forgotten(client, learner):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(4):
            _login(client, "learner")
        clock.shift(datetime.timedelta(minutes=15, seconds=1))
        statuses = [_login(client, "learner").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]


def test_many_usernames_from_one_ip_hit_the_ip_limit(client, settings, learner):
    settings.LOGIN_FAILURE_IP_LIMIT = 3
    with time_machine.travel(START, tick=False):
        statuses = [_login(client, f"guess{n}").status_code for n in range(3)]
        response = _login(client, "learner", TEST_PASSWORD)
    assert statuses == [200, 200, 429]
    assert response.status_code == 429


def test_unknown_usernames_are_throttled_like_real_ones(client):
    with time_machine.travel(START, tick=False):
        statuses = [_login(client, "nobody").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_empty_and_huge_inputs_are_form_errors_not_crashes(client):
    assert _login(client, "", "").status_code == 200
    response = _login(client, "x" * 100_000, "y" * 100_000)
    assert response.status_code == 200


def test_admin_login_is_throttled_too(client, learner):
    url = reverse("admin:login")
    with time_machine.travel(START, tick=False):
        statuses = [_login(client, "learner", url=url).status_code for _ in range(5)]
        response = _login(client, "learner", url=url)
    assert statuses == [200, 200, 200, 200, 200]  # the admin view renders its own page
    assert b"Too many failed login attempts. Try again in 15 minutes." in response.content


def test_lockout_message_wording():
    assert throttle.lockout_message(1) == "Too many failed login attempts. Try again in 1 minute."
    assert throttle.lockout_message(61) == "Too many failed login attempts. Try again in 2 minutes."


def test_counts_are_shared_through_redis_between_processes(redis_url, settings):
    from django.core.cache.backends.redis import RedisCache

    prefix = f"handshake-test-{secrets.token_hex(4)}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    # A second process has its own cache client: it sees the same lockout.
    other_process = RedisCache(redis_url, {"KEY_PREFIX": prefix})
    stems = [stem for stem, _ in throttle._scopes("learner", "203.0.113.7")]
    try:
        for _ in range(5):
            throttle.login_failure_record(username="learner", ip="203.0.113.7")
        assert other_process.get(f"{stems[0]}:locked-until") is not None
        assert throttle.login_lockout_seconds(username="learner", ip="203.0.113.7") == 900
    finally:  # only this test's keys: clear() would flush a Redis database other runs may share
        other_process.delete_many(
            [f"{stem}:{suffix}" for stem in stems for suffix in ("failures", "locked-until")]
        )


@pytest.mark.slow
def test_redis_url_puts_the_throttle_cache_in_redis_for_every_process():
    code = "import django; from django.conf import settings; django.setup(); print(settings.CACHES['default']['BACKEND'])"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    backends = [
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            env=env | {"DJANGO_SETTINGS_MODULE": "config.settings.dev"} | extra,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for extra in ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, {"REDIS_URL": ""})
    ]
    assert backends == [
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.locmem.LocMemCache",
    ]
