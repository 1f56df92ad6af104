"""Development: DEBUG on, a throwaway key, console e-mail."""

import os

from .base import *  # noqa: F403

DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() in {"1", "true", "yes", "on"}
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "dev-insecure-handshake-key-do-not-use-in-production"
HANDSHAKE_DEMO_DATA_ALLOWED = True
