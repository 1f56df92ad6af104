"""The site's pages, found from the URLconf, for checks that must cover every page (CSP, console)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def argument_free_paths() -> list[str]:
    """Every URL without parameters, admin aside: pages other apps add are covered without edits here."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not route.startswith("admin/"):
                    yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not re.search(r"[<>^$(\\]", route):
                yield "/" + route

    return sorted(set(walk(get_resolver().url_patterns, "")))
