"""Lesson pages: course list, course, lesson (+ progress), chooser, search, my learning."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from config import page_cache
from courses import services as progress_services
from lessons import chooser as chooser_walk
from lessons import mermaid, selectors, wire_bytes
from lessons import search as lesson_search
from lessons.models import Lesson, Section
from lessons.outline import is_decision_tree

REALTIME_KEYWORDS = ("real-time", "websocket", "server-sent", "long polling", "long-polling")
ARTICLE_CACHE_SECONDS = 24 * 60 * 60  # the key changes on every import; this only bounds memory
SEARCH_CACHE_SECONDS = 60  # keyed by query only: a re-import shows in search within a minute


@dataclass(frozen=True)
class PagerLink:
    slug: str
    title: str


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def login_required_htmx(view):
    """Like login_required, but an htmx request is sent to the login page as a whole page."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        next_url = request.htmx.current_url_abs_path if request.htmx else request.get_full_path()
        if request.htmx:
            login = reverse("accounts:login")
            return HttpResponseClientRedirect(f"{login}?next={next_url or '/'}")
        return redirect_to_login(next_url)

    return wrapper


@require_GET
def course_list(request: HtmxHttpRequest) -> HttpResponse:
    courses = list(selectors.course_list())
    progress = selectors.progress_by_course(user=request.user, courses=courses)
    rows = [(course, progress[course.pk]) for course in courses]
    return render(request, "lessons/course_list.html", {"rows": rows})


@require_GET
def course_detail(request: HtmxHttpRequest, course_slug: str) -> HttpResponse:
    course = selectors.course_get(slug=course_slug)
    done = selectors.completed_lesson_ids(user=request.user, course=course)
    topics = list(course.topics.all())
    total = sum(len(topic.lessons.all()) for topic in topics)
    topic_rows = [
        (
            topic,
            selectors.Progress(
                done=sum(1 for lesson in topic.lessons.all() if lesson.pk in done),
                total=len(topic.lessons.all()),
            ),
        )
        for topic in topics
    ]
    context = {
        "course": course,
        "topic_rows": topic_rows,
        "done": done,
        "progress": selectors.Progress(done=len(done), total=total),
    }
    return render(request, "lessons/course_detail.html", context)


def _article_key(lesson: Lesson) -> str:
    material_at = lesson.material_at.isoformat() if lesson.material_at else "-"
    return f"lessons:article:v1:{lesson.pk}:{lesson.topic.source_sha256}:{material_at}"


def _article(lesson: Lesson) -> dict:
    """The visitor-independent part of a lesson page, rendered once per lesson and material version.

    Rendered without a request, so no CSRF token, CSP nonce or user can end up in the cache.
    """
    key = _article_key(lesson)
    article = cache.get(key)
    if article is None:
        sections = selectors.lesson_sections(lesson=lesson)
        diagrams = [section for section in sections if section.kind == Section.Kind.DIAGRAM]
        chooser_section = next((s for s in diagrams if is_decision_tree(s.diagram_source)), None)
        headings = " ".join([lesson.title, *(section.heading for section in sections)]).lower()
        context = {
            "lesson": lesson,
            "course": lesson.course,
            "sections": sections,
            "chooser": _chooser_context(lesson, chooser_section, []) if chooser_section else None,
        }
        article = {
            "toc_html": render_to_string("lessons/lesson_detail.html#toc", context),
            "body_html": render_to_string("lessons/lesson_detail.html#article", context),
            "has_diagrams": bool(diagrams),
            "links_playground": any(word in headings for word in REALTIME_KEYWORDS),
        }
        cache.set(key, article, ARTICLE_CACHE_SECONDS)
    return article


def _pager(lesson: Lesson) -> dict:
    """Position, neighbours and lesson count: they change only when material is imported."""
    key = f"lessons:pager:v1:{_article_key(lesson)}"
    pager = cache.get(key)
    if pager is None:
        lessons = selectors.course_lessons(course=lesson.course)
        index = next(i for i, item in enumerate(lessons) if item.pk == lesson.pk)
        previous = lessons[index - 1] if index > 0 else None
        following = lessons[index + 1] if index + 1 < len(lessons) else None
        pager = {
            "previous": PagerLink(slug=previous.slug, title=previous.title) if previous else None,
            "next": PagerLink(slug=following.slug, title=following.title) if following else None,
            "position": index + 1,
            "lesson_count": len(lessons),
        }
        cache.set(key, pager, ARTICLE_CACHE_SECONDS)
    return pager


def _lesson_context(request: HtmxHttpRequest, lesson: Lesson) -> dict:
    pager = _pager(lesson)
    done = selectors.completed_lesson_ids(user=request.user, course=lesson.course)
    return {
        "lesson": lesson,
        "course": lesson.course,
        "article": _article(lesson),
        **pager,
        "is_complete": lesson.pk in done,
        "progress": selectors.Progress(done=len(done), total=pager["lesson_count"]),
        "measured": wire_bytes.measured() if lesson.slug == wire_bytes.LESSON_SLUG else (),
    }


@require_GET
def lesson_detail(request: HtmxHttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    if not request.user.is_authenticated and page_cache.cacheable(request):
        return _anonymous_lesson_page(request, course_slug, lesson_slug)
    lesson = selectors.lesson_page_get(course_slug=course_slug, lesson_slug=lesson_slug)
    if request.user.is_authenticated:
        progress_services.lesson_view_record(user=request.user, lesson=lesson)
    return render(request, "lessons/lesson_detail.html", _lesson_context(request, lesson))


def _anonymous_lesson_page(request: HtmxHttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    """An anonymous visitor's page is the same for everyone but for the CSP nonce and the CSRF token.

    The whole page is cached per path and material version with placeholders in their place, and
    each response gets its own. Pages with pending messages and htmx requests are never cached;
    unknown lessons 404 on every request (nothing is cached for them).
    """
    path_hash = hashlib.sha256(request.path.encode()).hexdigest()[:16]
    key = f"lessons:page:v2:{selectors.material_version_recent()}:{path_hash}"

    def context() -> dict:
        lesson = selectors.lesson_page_get(course_slug=course_slug, lesson_slug=lesson_slug)
        return _lesson_context(request, lesson)

    return page_cache.cached_page(
        request,
        key=key,
        timeout=ARTICLE_CACHE_SECONDS,
        template="lessons/lesson_detail.html",
        context=context,
    )


def _progress_response(request: HtmxHttpRequest, lesson: Lesson, *, complete: bool) -> HttpResponse:
    if not request.htmx:
        return redirect(lesson.get_absolute_url() + "#lesson-progress")
    done = selectors.completed_lesson_ids(user=request.user, course=lesson.course)
    lessons = selectors.course_lessons(course=lesson.course)
    index = next(i for i, item in enumerate(lessons) if item.pk == lesson.pk)
    context = {
        "lesson": lesson,
        "course": lesson.course,
        "is_complete": complete,
        "progress": selectors.Progress(done=len(done), total=len(lessons)),
        "next": lessons[index + 1] if index + 1 < len(lessons) else None,
        "announce": True,
    }
    return render(request, "lessons/lesson_detail.html#lesson-progress", context)


@require_POST
@login_required_htmx
def lesson_complete(request: HtmxHttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    lesson = selectors.lesson_get(course_slug=course_slug, lesson_slug=lesson_slug)
    progress_services.lesson_complete(user=request.user, lesson=lesson)
    return _progress_response(request, lesson, complete=True)


@require_POST
@login_required_htmx
def lesson_uncomplete(request: HtmxHttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    lesson = selectors.lesson_get(course_slug=course_slug, lesson_slug=lesson_slug)
    progress_services.lesson_uncomplete(user=request.user, lesson=lesson)
    return _progress_response(request, lesson, complete=False)


def _chooser_context(lesson: Lesson, section: Section, path: list[int]) -> dict:
    chart = mermaid.flowchart_parse(section.diagram_source)
    walk = chooser_walk.walk(chart, path)
    context: dict = {"walk": walk, "lesson": lesson, "course": lesson.course, "diagram": section}
    if walk.finished:
        sections = list(lesson.sections.all())
        prose = [s for s in sections if s.kind in {Section.Kind.PROSE, Section.Kind.CHEAT_SHEET}]
        terms = walk.terms()
        context["reasoning"] = [
            (s, chooser_walk.reasoning_paragraphs(body_html=s.body_html, source=s.source, terms=terms))
            for s in prose
        ]
        outcome = chooser_walk.outcome_terms(walk.node.label)
        areas = selectors.key_areas_for_topic(topic=lesson.topic)
        scored = sorted(
            ((chooser_walk.mention_count(area.section.plain_text, outcome), area) for area in areas),
            key=lambda pair: -pair[0],
        )
        context["key_areas"] = [area for score, area in scored if score > 0][:3]
    return context


@require_GET
def chooser(request: HtmxHttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    lesson = selectors.lesson_get(course_slug=course_slug, lesson_slug=lesson_slug)
    section = next(
        (
            s
            for s in lesson.sections.all()
            if s.kind == Section.Kind.DIAGRAM and is_decision_tree(s.diagram_source)
        ),
        None,
    )
    if section is None:
        raise Http404("This lesson has no decision tree.")
    try:
        path = chooser_walk.path_parse(request.GET.get("path", ""))
        context = _chooser_context(lesson, section, path)
    except chooser_walk.ChooserPathError:
        raise Http404("No such step in the decision tree.") from None
    template = "lessons/chooser.html"
    if request.htmx and not request.htmx.boosted:
        template += "#chooser"
    return render(request, template, {"chooser": context, "lesson": lesson, "course": lesson.course})


def _search_results_html(query: str) -> SafeString:
    """The rendered results for a valid query, cached briefly: they change only when material is imported.

    Rendered without a request (the partial shows only the query and public lesson text).
    """
    key = "lessons:search:v1:" + hashlib.sha256(query.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        hits = lesson_search.section_search(query=query)
        context = {"query": query, "hits": hits, "error": ""}
        html = render_to_string("lessons/search.html#search-results", context)
        cache.set(key, html, SEARCH_CACHE_SECONDS)
    return html


@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    error = ""
    results_html = None
    if len(query) > lesson_search.MAX_QUERY_CHARS:
        error = f"Search for at most {lesson_search.MAX_QUERY_CHARS} characters."
    elif query and not lesson_search.query_terms(query):
        error = "Type some words or numbers to search for."
    elif query:
        results_html = _search_results_html(query)
    if request.htmx and not request.htmx.boosted and results_html is not None:
        return HttpResponse(results_html)
    context = {
        "query": query,
        "hits": [],
        "error": error,
        "max_chars": lesson_search.MAX_QUERY_CHARS,
        "results_html": results_html,
    }
    template = "lessons/search.html"
    if request.htmx and not request.htmx.boosted:
        template += "#search-results"
    return render(request, template, context)


@require_GET
@login_required
def my_learning(request: HtmxHttpRequest) -> HttpResponse:
    courses = list(selectors.course_list())
    progress = selectors.progress_by_course(user=request.user, courses=courses)
    context = {
        "rows": [(course, progress[course.pk]) for course in courses],
        "recent": selectors.recent_progress(user=request.user),
        "completed": selectors.completed_progress(user=request.user),
        "continue_lesson": selectors.continue_lesson(user=request.user),
    }
    return render(request, "lessons/my_learning.html", context)
