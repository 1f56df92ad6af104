"""Login throttling against password guessing.

Failed logins are counted in the cache (Redis when REDIS_URL is set, so every Daphne process
shares the counts) per username + IP, and per IP across usernames. Reaching a limit within the
window locks that pair (or IP) out for one window; while locked out, no password is checked.
A successful login clears the username + IP count only: one valid account must not reset the
per-IP count an attacker is running up against other accounts.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

PREFIX = "login-throttle"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _scopes(username: str, ip: str) -> list[tuple[str, int]]:
    """(cache key stem, failure limit) for each scope a login attempt counts against."""
    name = username.strip().lower()
    return [
        (f"{PREFIX}:user-ip:{_digest(name, ip)}", settings.LOGIN_FAILURE_LIMIT),
        (f"{PREFIX}:ip:{_digest(ip)}", settings.LOGIN_FAILURE_IP_LIMIT),
    ]


def client_ip(request: HttpRequest | None) -> str:
    """The client address; behind nginx, Daphne's --proxy-headers takes it from X-Forwarded-For."""
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR", "")


def login_lockout_seconds(*, username: str, ip: str) -> int:
    """Seconds until this username + IP may try again; 0 when not locked out."""
    locks = cache.get_many([f"{stem}:locked-until" for stem, _ in _scopes(username, ip)])
    remaining = max((until - time.time() for until in locks.values()), default=0)
    return max(0, math.ceil(remaining))


def login_failure_record(*, username: str, ip: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for stem, limit in _scopes(username, ip):
        count_key = f"{stem}:failures"
        cache.add(count_key, 0, timeout=window)  # the window starts at the first failure
        try:
            failures = cache.incr(count_key)
        except ValueError:  # expired between add() and incr()
            cache.set(count_key, 1, timeout=window)
            failures = 1
        if failures >= limit:
            cache.set(f"{stem}:locked-until", time.time() + window, timeout=window)
            cache.delete(count_key)


def login_success_record(*, username: str, ip: str) -> None:
    stem, _ = _scopes(username, ip)[0]
    cache.delete(f"{stem}:failures")


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed login attempts. Try again in {minutes} {unit}."
