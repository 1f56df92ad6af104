"""Tests: fast hashing, a file-based SQLite test DB (the live Daphne is another process)."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, LOGGING

DEBUG = False
SECRET_KEY = "test-only-handshake-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
HANDSHAKE_DEMO_DATA_ALLOWED = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One file per test run (several runs may share a checkout); the env var carries the name to
# the live Daphne process however it is started.
_run = os.environ.setdefault("HANDSHAKE_TEST_RUN", str(os.getpid()))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{_run}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run}"}

# Quiet test output: no access log lines (tests that check them attach their own handler).
LOGGING["loggers"]["handshake.access"]["level"] = "WARNING"

# Always the in-memory cache: RedisCache.clear() flushes the whole Redis database, which parallel
# runs share. Tests that need Redis configure it themselves with their own key prefix.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
