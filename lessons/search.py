"""Ranked lesson search: PostgreSQL full-text search, or SQLite FTS5 (kept by the import service).

Both paths: one ranked query for (section id, rank, snippet), then one query for the sections.
Snippets are marked with control characters, escaped, then given <mark> tags: user input and
material text never reach the page unescaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from lessons.models import Section

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MAX_RESULTS = 30
START, STOP = "\x02", "\x03"
TERM_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    section: Section
    rank: float
    snippet_html: SafeString


def query_terms(query: str) -> list[str]:
    terms: list[str] = []
    for term in TERM_RE.findall(query.lower()):
        if term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def snippet_html(text: str) -> SafeString:
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308 - escaped first


def index_rebuild() -> None:
    """Refill the SQLite FTS5 table from Section (a few hundred rows: one statement each way)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM lessons_section_fts")
        cursor.execute(
            "INSERT INTO lessons_section_fts (rowid, heading, plain_text, section_id) "
            "SELECT id, heading, plain_text, id FROM lessons_section"
        )


def _sqlite_ranked(terms: list[str], *, any_term: bool, limit: int) -> list[tuple[int, float, str]]:
    quoted = [f'"{term}"' for term in terms]
    quoted[-1] += "*"  # the last word may still be being typed
    expression = (" OR " if any_term else " ").join(quoted)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT section_id, bm25(lessons_section_fts, 4.0, 1.0) AS rank, "
            "snippet(lessons_section_fts, 1, %s, %s, '…', 28) "
            "FROM lessons_section_fts WHERE lessons_section_fts MATCH %s ORDER BY rank LIMIT %s",
            [START, STOP, expression, limit],
        )
        return [(int(row[0]), -float(row[1]), row[2]) for row in cursor.fetchall()]


def _postgres_ranked(terms: list[str], *, any_term: bool, limit: int) -> list[tuple[int, float, str]]:
    from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector

    words = [*terms[:-1], f"{terms[-1]}:*"]
    query = SearchQuery((" | " if any_term else " & ").join(words), search_type="raw", config="english")
    vector = SearchVector("heading", weight="A", config="english") + SearchVector(
        "plain_text", weight="B", config="english"
    )
    rows = (
        Section.objects.annotate(
            document=vector,
            rank=SearchRank(vector, query),
            snippet=SearchHeadline(
                "plain_text",
                query,
                config="english",
                start_sel=START,
                stop_sel=STOP,
                max_words=40,
                min_words=20,
            ),
        )
        .filter(document=query)
        .order_by("-rank", "pk")
        .values_list("pk", "rank", "snippet")[:limit]
    )
    return [(pk, float(rank), snippet) for pk, rank, snippet in rows]


def section_search(*, query: str, limit: int = MAX_RESULTS) -> list[Hit]:
    """Sections matching every word (or, failing that, any word), best first."""
    terms = query_terms(query[:MAX_QUERY_CHARS])
    if not terms:
        return []
    ranked_query = _postgres_ranked if connection.vendor == "postgresql" else _sqlite_ranked
    ranked = ranked_query(terms, any_term=False, limit=limit)
    if not ranked and len(terms) > 1:
        ranked = ranked_query(terms, any_term=True, limit=limit)
    if not ranked:
        return []
    sections = Section.objects.select_related("lesson__course", "topic").in_bulk([pk for pk, _, _ in ranked])
    return [
        Hit(section=sections[pk], rank=rank, snippet_html=snippet_html(snippet))
        for pk, rank, snippet in ranked
        if pk in sections
    ]
