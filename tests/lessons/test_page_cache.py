"""Lesson-page and search caches: what is cached, what stays per response, and invalidation by import."""

import re

from django.http import HttpResponse

from courses.services import lesson_complete
from lessons import selectors
from lessons.models import Lesson, Topic
from tests.lessons.conftest import COURSE_SLUG

LESSON_URL = f"/courses/{COURSE_SLUG}/the-landscape/"
NONCE_RE = re.compile(r'nonce="([^"]+)"')
HEADER_TOKEN_RE = re.compile(r'"x-csrftoken": "([^"]+)"')
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def per_response(html: str) -> str:
    return HEADER_TOKEN_RE.sub("", NONCE_RE.sub("", html))


def test_second_anonymous_view_is_served_from_the_cache(client, material, django_assert_num_queries):
    first = client.get(LESSON_URL).content.decode()
    with django_assert_num_queries(0):  # the material version is recent, the page comes from the cache
        second = client.get(LESSON_URL).content.decode()
    assert per_response(first) == per_response(second)
    assert HEADER_TOKEN_RE.findall(first) != HEADER_TOKEN_RE.findall(second)  # masked anew each time
    assert "Lesson 2 of 13" in second


def test_cached_article_carries_no_nonce_or_token_of_another_response(client, material, learner):
    client.get(LESSON_URL)  # fills the cache anonymously
    client.force_login(learner)
    first = client.get(LESSON_URL).content.decode()
    second = client.get(LESSON_URL).content.decode()
    assert NONCE_RE.findall(first)[0] != NONCE_RE.findall(second)[0]
    assert len(set(NONCE_RE.findall(second))) == 1  # every script carries this response's nonce
    assert TOKEN_RE.findall(second)  # the mark-complete and log-out forms stay per visitor
    assert "Mark complete" in second


def test_progress_stays_per_visitor_with_a_warm_cache(client, material, learner):
    client.get(LESSON_URL)
    lesson_complete(user=learner, lesson=Lesson.objects.get(slug="the-landscape"))
    client.force_login(learner)
    html = client.get(LESSON_URL).content.decode()
    assert "1 of 13 lessons" in html
    assert "✓ Completed" in html


def test_reimport_changes_the_key(client, material):
    client.get(LESSON_URL)
    lesson = Lesson.objects.get(slug="the-landscape")
    section = lesson.sections.order_by("position").first()
    section.body_html = "<p>Freshly imported text.</p>"
    section.save(update_fields=["body_html"])
    assert "Freshly imported text." not in client.get(LESSON_URL).content.decode()  # still cached
    topic = lesson.topic
    # What an import of changed material does: a new source hash and import time.
    Topic.objects.filter(pk=topic.pk).update(
        source_sha256="0" * 64, imported_at=topic.imported_at.replace(year=2098)
    )
    selectors.material_version_forget()  # what material_import does
    assert "Freshly imported text." in client.get(LESSON_URL).content.decode()


def test_import_of_another_topic_changes_the_key(client, material):
    client.get(LESSON_URL)
    lesson = Lesson.objects.get(slug="the-landscape")
    section = lesson.sections.order_by("position").first()
    section.body_html = "<p>Cross-reference re-resolved.</p>"
    section.save(update_fields=["body_html"])
    latest = Topic.objects.order_by("-imported_at").first()
    Topic.objects.filter(pk=latest.pk).update(imported_at=latest.imported_at.replace(year=2099))
    selectors.material_version_forget()  # what material_import does
    assert "Cross-reference re-resolved." in client.get(LESSON_URL).content.decode()


def test_unknown_lesson_404s_every_time(client, material):
    for _ in range(2):
        assert client.get(f"/courses/{COURSE_SLUG}/no-such-lesson/").status_code == 404


def test_logged_in_warm_article_cache_makes_one_query_less(
    client, material, learner, django_assert_num_queries
):
    client.force_login(learner)
    client.get(LESSON_URL)
    # session, user, nav review badge, lesson, view (savepoint, select, update, release), completed ids
    with django_assert_num_queries(9):
        client.get(LESSON_URL)


def test_repeated_search_skips_the_index(client, material, django_assert_num_queries):
    first = client.get("/search/", {"q": "websocket reconnect"}).content.decode()
    with django_assert_num_queries(0):
        second = client.get("/search/", {"q": "websocket reconnect"}).content.decode()
    assert per_response(first) == per_response(second)
    assert HEADER_TOKEN_RE.findall(first) != HEADER_TOKEN_RE.findall(second)  # masked anew each time
    assert 'class="search-hit"' in second


def test_cached_search_results_escape_the_query(client, material):
    client.get("/search/", {"q": "<script>websocket</script>"})
    html = client.get("/search/", {"q": "<script>websocket</script>"}).content.decode()
    assert "<script>websocket" not in html
    assert "&lt;script&gt;websocket&lt;/script&gt;" in html


def test_cached_search_htmx_fragment(client, material):
    client.get("/search/", {"q": "grpc"})
    response = client.get("/search/", {"q": "grpc"}, headers={"HX-Request": "true"})
    assert response.content.decode().strip().startswith('<div id="search-results"')
    assert "<html" not in response.content.decode()


def test_anonymous_page_nonce_matches_the_csp_header_each_time(client, material):
    for _ in range(2):
        response = client.get(LESSON_URL)
        html = response.content.decode()
        nonces = set(NONCE_RE.findall(html))
        assert len(nonces) == 1
        (nonce,) = nonces
        assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
        assert "placeholder" not in html


def test_anonymous_cached_page_token_passes_csrf(material):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.get(LESSON_URL)  # fills the cache
    response = client.get(LESSON_URL)
    (token,) = HEADER_TOKEN_RE.findall(response.content.decode())
    assert "placeholder" not in token
    assert response.cookies["csrftoken"].value
    login = client.post(
        "/accounts/login/", {"username": "nobody", "password": "x"}, headers={"X-CSRFToken": token}
    )
    assert login.status_code == 200  # a form error, not a 403 CSRF failure


def test_anonymous_page_with_messages_is_not_served_from_or_into_the_cache(client, material):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    request = HttpRequest()
    storage = CookieStorage(request)
    storage.add(constants.INFO, "A one-off notice.")
    response_holder = HttpResponse()
    storage.update(response_holder)
    client.cookies["messages"] = response_holder.cookies["messages"].value
    assert "A one-off notice." in client.get(LESSON_URL).content.decode()
    assert "A one-off notice." not in client.get(LESSON_URL).content.decode()


def test_material_version_is_reread_after_its_lifetime(material, monkeypatch, django_assert_num_queries):
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    with django_assert_num_queries(1):
        first = selectors.material_version_recent()
        assert selectors.material_version_recent() == first
    Topic.objects.update(imported_at=Topic.objects.first().imported_at.replace(year=2097))
    clock[0] += selectors.MATERIAL_VERSION_SECONDS
    assert selectors.material_version_recent() != first


def test_import_forgets_the_material_version(material):
    from lessons.services import material_import
    from tests.lessons.conftest import TCP

    before = selectors.material_version_recent()
    material_import(path=TCP)
    assert selectors.material_version_recent() != before
