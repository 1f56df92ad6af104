"""Whole rendered pages in the cache, with the per-response parts filled in on the way out.

A page that is the same for everyone who may see it (an anonymous lesson page) or for one user for
a short while (an instructor's cohort dashboard) differs per response only in the CSP nonce and the
CSRF token. It is rendered once with placeholders in their place and cached as UTF-8 pieces split at
the placeholders; each response joins the pieces with its own nonce and token (BENCHMARKS.md: lesson
pages and the dashboard). Bytes unpickle as a copy and join in one pass: replacing in the cached str
and encoding it cost ~0.2 ms a response for the 69 KB dashboard.

Callers decide what may be cached: never an htmx partial, never a page with pending messages
(``cacheable()``), and always after the permission check.
"""

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

NONCE_SLOT = "hs-page-nonce-placeholder-5c1e9a"
CSRF_SLOT = "hs-page-csrf-placeholder-5c1e9a"
_SLOTS = re.compile(f"({NONCE_SLOT}|{CSRF_SLOT})".encode())


def cacheable(request: HttpRequest) -> bool:
    """A full page (not htmx), with a CSP nonce to substitute and no pending messages to show."""
    return (
        get_nonce(request) is not None
        and not getattr(request, "htmx", False)  # django-htmx's details are falsy without HX-Request
        and not len(messages.get_messages(request))  # len() does not consume them
    )


def cached_page(
    request: HttpRequest, *, key: str, timeout: int, template: str, context: Callable[[], dict[str, Any]]
) -> HttpResponse:
    """The page under ``key``, rendered with ``context()`` (only on a miss) and cached for ``timeout`` s."""
    key = f"page-pieces:{key}"
    pieces = cache.get(key)
    if pieces is None:
        slots = {"csp_nonce": NONCE_SLOT, "csrf_token": CSRF_SLOT}
        page = render_to_string(template, {**context(), **slots}, request=request)
        pieces = _SLOTS.split(page.encode())  # text, slot, text, ..., text
        cache.set(key, pieces, timeout)
    fill = {
        NONCE_SLOT.encode(): str(get_nonce(request)).encode(),
        CSRF_SLOT.encode(): get_token(request).encode(),
    }
    pieces[1::2] = [fill[slot] for slot in pieces[1::2]]  # the unpickled list is this response's own
    return HttpResponse(b"".join(pieces))
