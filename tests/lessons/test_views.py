"""Lesson pages: rendering, query counts, progress permissions, chooser, search, bad input."""

import pytest
from django.urls import reverse

from courses.models import LessonProgress
from courses.services import lesson_complete, lesson_view_record
from lessons.models import Lesson
from lessons.services import material_import
from tests.lessons.conftest import COURSE_SLUG, TCP

LESSON_URL = f"/courses/{COURSE_SLUG}/the-landscape/"
TREE_URL = f"/courses/{COURSE_SLUG}/protocol-selection-decision-tree/"
CHOOSER_URL = TREE_URL + "chooser/"


@pytest.fixture
def client_learner(client, learner):
    client.force_login(learner)
    return client


def lesson(slug: str) -> Lesson:
    return Lesson.objects.get(slug=slug, course__slug=COURSE_SLUG)


def test_url_names_round_trip():
    assert reverse("lessons:course-list") == "/courses/"
    assert reverse("lessons:course-detail", args=[COURSE_SLUG]) == f"/courses/{COURSE_SLUG}/"
    assert (
        reverse("lessons:lesson-detail", args=[COURSE_SLUG, "overview"])
        == f"/courses/{COURSE_SLUG}/overview/"
    )
    assert reverse("lessons:chooser", args=[COURSE_SLUG, "x"]) == f"/courses/{COURSE_SLUG}/x/chooser/"
    assert reverse("lessons:search") == "/search/"
    assert reverse("lessons:my-learning") == "/my-learning/"


def test_section_absolute_url_is_lesson_plus_anchor(material):
    section = lesson("key-takeaways").sections.get(anchor="communication-protocols-operate-in-layers")
    assert (
        section.get_absolute_url()
        == f"/courses/{COURSE_SLUG}/key-takeaways/#communication-protocols-operate-in-layers"
    )


def test_course_list_renders_with_progress(client_learner, material, learner):
    lesson_complete(user=learner, lesson=lesson("overview"))
    response = client_learner.get("/courses/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Communication Protocols in System Design" in html
    assert "1 of 13" in html
    assert '<progress max="13" value="1"' in html


def test_course_list_empty_state(client, db):
    response = client.get("/courses/")
    assert "No courses yet." in response.content.decode()


def test_course_list_query_count(client_learner, material, learner, django_assert_num_queries):
    material_import(path=TCP)  # a second course
    for slug in ("overview", "the-landscape", "key-takeaways"):
        lesson_complete(user=learner, lesson=lesson(slug))
    # session, user, nav review badge, courses, topics (prefetch), progress per course
    with django_assert_num_queries(6):
        response = client_learner.get("/courses/")
    assert "3 of 13" in response.content.decode()


def test_course_detail_lists_every_lesson_and_objectives(client, material):
    response = client.get(f"/courses/{COURSE_SLUG}/")
    html = response.content.decode()
    assert response.status_code == 200
    for item in Lesson.objects.filter(course__slug=COURSE_SLUG):
        assert f'href="{item.get_absolute_url()}"' in html
    assert "Differentiate between synchronous and asynchronous communication patterns" in html
    assert "Key Areas" in html
    assert "to track your progress" in html


def test_course_detail_query_count(client_learner, material, learner, django_assert_num_queries):
    for slug in ("overview", "the-landscape", "real-world-context"):
        lesson_complete(user=learner, lesson=lesson(slug))
    # session, user, nav review badge, course, topics, lessons, completed ids
    with django_assert_num_queries(7):
        response = client_learner.get(f"/courses/{COURSE_SLUG}/")
    html = response.content.decode()
    assert "3 of 13 lessons · 23%" in html
    assert html.count('<span class="badge badge-ok">Done</span>') == 3


def test_course_detail_unknown_slug_404(client, material):
    assert client.get("/courses/no-such-course/").status_code == 404


def test_lesson_page_renders_sections_toc_anchors_and_pager(client, material):
    response = client.get(LESSON_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="lesson-title">The Landscape</h1>' in html
    assert "4 min read" in html
    for anchor in (
        "the-landscape",
        "communication-protocol-stack-network-and-application-layers",
        "synchronous-vs-asynchronous-communication-trade-offs",
    ):
        assert f'<section id="{anchor}"' in html
        assert f'<a class="anchor-link" href="#{anchor}"' in html
        assert '<li class="toc-' in html
    assert html.count('<figure class="diagram"') == 3
    assert html.count("<summary>View source</summary>") == 3
    assert (
        '<figcaption id="communication-protocol-stack-network-and-application-layers-caption">Communication protocols form a layered hierarchy'
        in html
    )
    assert "Flowchart, top to bottom, 10 nodes." in html
    assert 'rel="prev"' in html
    assert f'href="/courses/{COURSE_SLUG}/overview/" rel="prev"' in html
    assert f'href="/courses/{COURSE_SLUG}/communication-patterns/" rel="next"' in html
    assert "vendor/mermaid/11.17.2/mermaid.min.js" in html
    assert "lessons/diagrams.js" in html
    assert "Log in</a> or" in html  # anonymous: reading allowed, progress asks to log in


def test_lesson_page_without_diagrams_loads_no_mermaid(client, material):
    html = client.get(f"/courses/{COURSE_SLUG}/real-world-context/").content.decode()
    assert "mermaid" not in html
    assert "diagrams.js" not in html


def test_lesson_page_links_playground_only_for_real_time_lessons(client, material):
    assert (
        "/playground/"
        in client.get(f"/courses/{COURSE_SLUG}/real-time-communication-protocols/")
        .content.decode()
        .split("See it live")[1]
    )
    assert "See it live" not in client.get(f"/courses/{COURSE_SLUG}/real-world-context/").content.decode()


def test_lesson_page_shows_topic_links_and_markers(client, material):
    html = client.get(f"/courses/{COURSE_SLUG}/how-things-connect/").content.decode()
    assert html.count("not in this course yet") == 8


def test_lesson_page_records_view_for_learner(client_learner, material, learner):
    client_learner.get(LESSON_URL)
    progress = LessonProgress.objects.get(user=learner)
    assert progress.lesson.slug == "the-landscape"
    assert progress.completed_at is None


def test_lesson_query_count(client_learner, material, learner, django_assert_num_queries):
    for slug in ("overview", "communication-patterns", "key-takeaways"):
        lesson_complete(user=learner, lesson=lesson(slug))
    lesson_view_record(user=learner, lesson=lesson("the-landscape"))
    # session, user, nav review badge, lesson, sections, view (savepoint, select, update, release),
    # course lessons, completed ids
    with django_assert_num_queries(11):
        response = client_learner.get(LESSON_URL)
    assert "3 of 13 lessons" in response.content.decode()


def test_lesson_unknown_slugs_404(client, material):
    assert client.get(f"/courses/{COURSE_SLUG}/no-such-lesson/").status_code == 404
    assert client.get("/courses/no-such-course/overview/").status_code == 404


def test_mark_complete_htmx_returns_the_progress_partial(client_learner, material, learner):
    url = reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"])
    response = client_learner.post(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section id="lesson-progress"')
    assert "Lesson marked complete. 1 of 13 lessons done." in html
    assert "Mark as not complete" in html
    assert "<html" not in html
    assert LessonProgress.objects.get(user=learner).completed_at is not None


def test_mark_complete_without_js_redirects_back(client_learner, material, learner):
    url = reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"])
    response = client_learner.post(url)
    assert response.status_code == 302
    assert response["Location"] == LESSON_URL + "#lesson-progress"
    page = client_learner.get(LESSON_URL).content.decode()
    assert "Mark as not complete" in page
    response = client_learner.post(reverse("lessons:lesson-uncomplete", args=[COURSE_SLUG, "the-landscape"]))
    assert response.status_code == 302
    assert LessonProgress.objects.get(user=learner).completed_at is None


def test_mark_complete_is_idempotent(client_learner, material, learner):
    url = reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"])
    client_learner.post(url)
    first = LessonProgress.objects.get(user=learner).completed_at
    client_learner.post(url)
    assert LessonProgress.objects.get(user=learner).completed_at == first
    assert LessonProgress.objects.count() == 1


def test_mark_complete_anonymous_is_sent_to_log_in(client, material):
    url = reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"])
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    response = client.post(
        url, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver" + LESSON_URL}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next={LESSON_URL}"
    assert LessonProgress.objects.count() == 0


def test_mark_complete_only_changes_own_progress(client_learner, material, learner, other_learner):
    target = lesson("the-landscape")
    lesson_complete(user=other_learner, lesson=target)
    client_learner.post(reverse("lessons:lesson-uncomplete", args=[COURSE_SLUG, "the-landscape"]))
    assert LessonProgress.objects.get(user=other_learner).completed_at is not None
    assert LessonProgress.objects.get(user=learner).completed_at is None


def test_mark_complete_rejects_get_and_unknown_lessons(client_learner, material):
    assert (
        client_learner.get(
            reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"])
        ).status_code
        == 405
    )
    assert (
        client_learner.post(reverse("lessons:lesson-complete", args=[COURSE_SLUG, "nope"])).status_code == 404
    )


def test_mark_complete_requires_csrf(material, learner):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(learner)
    response = csrf_client.post(reverse("lessons:lesson-complete", args=[COURSE_SLUG, "the-landscape"]))
    assert response.status_code == 403
    assert LessonProgress.objects.count() == 0


def test_decision_tree_lesson_embeds_the_chooser(client, material):
    html = client.get(TREE_URL).content.decode()
    assert '<div id="chooser"' in html
    assert "Latency Requirement?" in html
    assert f'href="{CHOOSER_URL}?path=0"' in html
    assert f'hx-get="{CHOOSER_URL}?path=0"' in html


def test_chooser_walks_one_question_at_a_time(client, material):
    html = client.get(CHOOSER_URL + "?path=0").content.decode()
    assert "Bidirectional?" in html
    assert ">Yes</a>" in html
    assert ">No</a>" in html
    html = client.get(CHOOSER_URL + "?path=0.0").content.decode()
    assert '<h3 class="chooser-outcome" tabindex="-1" data-autofocus>WebSockets</h3>' in html
    assert "Chat, Collaboration" in html
    assert "Bidirectional conversations (chat, collaboration) require WebSockets" in html
    assert (
        f'href="/courses/{COURSE_SLUG}/real-time-communication-protocols/#real-time-communication-protocols"'
        in html
    )


def test_chooser_passes_through_plain_nodes(client, material):
    html = client.get(CHOOSER_URL + "?path=1").content.decode()
    assert "Message Queue (Kafka, RabbitMQ)" in html
    assert "Guaranteed Delivery?" in html
    html = client.get(CHOOSER_URL + "?path=1.0").content.decode()
    assert "TCP-based Queue" in html
    assert "TCP for guaranteed delivery (payments, orders, user data)" in html


def test_chooser_htmx_returns_the_fragment(client, material):
    response = client.get(CHOOSER_URL + "?path=0.1", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.strip().startswith('<div id="chooser"')
    assert "Server Push Only?" in html
    assert "<html" not in html


@pytest.mark.parametrize("path", ["9", "0.0.0", "x", "0..1", "1" + ".1" * 80, "-1"])
def test_chooser_bad_paths_404(client, material, path):
    assert client.get(CHOOSER_URL + "?path=" + path).status_code == 404


def test_chooser_on_lesson_without_tree_404(client, material):
    assert client.get(f"/courses/{COURSE_SLUG}/the-landscape/chooser/").status_code == 404


def test_search_ranked_results_link_to_anchors_with_highlights(client, material):
    response = client.get("/search/", {"q": "idempotency"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 results for “idempotency”" in html
    assert (
        f'href="/courses/{COURSE_SLUG}/questions-and-red-flags/#how-do-you-ensure-reliable-message-delivery-in-a-distributed-system"'
        in html
    )
    assert "<mark>idempotency</mark> (processing the same message" in html


def test_search_escapes_user_input(client, material):
    response = client.get("/search/", {"q": "<script>alert(1)</script> grpc"})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; grpc" in html


def test_search_falls_back_to_any_word(client, material):
    html = client.get("/search/", {"q": "websockets zzzunknownword"}).content.decode()
    assert "result" in html
    assert "Nothing matches" not in html


def test_search_empty_too_long_and_symbols(client, material):
    assert "Search every lesson" in client.get("/search/").content.decode()
    assert "Search for at most 200 characters." in client.get("/search/", {"q": "a" * 201}).content.decode()
    assert "Type some words or numbers" in client.get("/search/", {"q": "?!*"}).content.decode()
    assert "Nothing matches" in client.get("/search/", {"q": "qwertyuiop"}).content.decode()


def test_search_htmx_returns_results_fragment(client, material):
    response = client.get("/search/", {"q": "grpc"}, headers={"HX-Request": "true"})
    assert response.content.decode().strip().startswith('<div id="search-results"')


def test_search_query_count(client_learner, material, django_assert_num_queries):
    # session, user, nav review badge, ranked hits, sections
    with django_assert_num_queries(5):
        response = client_learner.get("/search/", {"q": "websockets"})
    assert response.content.decode().count('class="search-hit"') >= 3


def test_my_learning_requires_login(client, material):
    response = client.get("/my-learning/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/my-learning/"


def test_my_learning_lists_progress_recent_and_completed(client_learner, material, learner, other_learner):
    for slug in ("overview", "the-landscape", "communication-patterns"):
        lesson_complete(user=learner, lesson=lesson(slug))
    lesson_view_record(user=learner, lesson=lesson("real-world-context"))
    lesson_complete(user=other_learner, lesson=lesson("key-takeaways"))
    html = client_learner.get("/my-learning/").content.decode()
    assert "3 of 13 lessons · 23%" in html
    assert "Continue where you left off" in html
    assert (
        f'<a class="button" href="/courses/{COURSE_SLUG}/real-world-context/">Real-World Context</a>' in html
    )
    assert html.count("<tr><td>") == 3
    assert "Key Takeaways</a></td>" not in html  # another learner's progress


def test_my_learning_empty_states(client_learner, material):
    html = client_learner.get("/my-learning/").content.decode()
    assert "You haven't opened a lesson yet." in html
    assert "No completed lessons yet." in html


def test_my_learning_query_count(client_learner, material, learner, django_assert_num_queries):
    for slug in ("overview", "the-landscape", "communication-patterns"):
        lesson_complete(user=learner, lesson=lesson(slug))
    lesson_view_record(user=learner, lesson=lesson("real-world-context"))
    # session, user, nav review badge, courses, topics, progress per course, recent, completed, continue
    with django_assert_num_queries(9):
        client_learner.get("/my-learning/")


def test_home_shows_courses_and_continue(client_learner, material, learner):
    lesson_complete(user=learner, lesson=lesson("overview"))
    html = client_learner.get("/").content.decode()
    assert "Continue where you left off" in html
    assert f'<a class="button" href="/courses/{COURSE_SLUG}/the-landscape/">The Landscape</a>' in html
    assert "1 of 13" in html


def test_home_anonymous(client, material):
    html = client.get("/").content.decode()
    assert "Start learning" in html
    assert "Continue where you left off" not in html


def test_anonymous_course_and_lesson_query_counts(client, material, django_assert_num_queries):
    # course, topics, lessons (no session, no progress)
    with django_assert_num_queries(3):
        assert client.get(f"/courses/{COURSE_SLUG}/").status_code == 200
    # first (uncached) view: material version, lesson, sections, course lessons
    with django_assert_num_queries(4):
        assert client.get(LESSON_URL).status_code == 200
    # cached, with a recent material version: none
    with django_assert_num_queries(0):
        assert client.get(LESSON_URL).status_code == 200
    # the lesson page of the decision tree walks the chooser from the same rows (+ key areas is not needed yet)
    with django_assert_num_queries(3):
        assert client.get(TREE_URL).status_code == 200
    # chooser outcome: lesson, sections, key areas
    with django_assert_num_queries(3):
        assert client.get(CHOOSER_URL + "?path=0.0").status_code == 200


def test_admin_lists_imported_content_read_only(client, material, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-admin-only")
    client.force_login(admin_user)
    response = client.get("/admin/lessons/section/?q=idempotency")
    assert response.status_code == 200
    assert "How do you ensure reliable message delivery in a distributed system?" in response.content.decode()
    assert client.get("/admin/lessons/lesson/add/").status_code == 403


def test_chooser_works_for_any_topic_with_a_decision_flowchart(client, db, tmp_path):
    path = tmp_path / "caching.txt"
    path.write_text(
        "\n".join(
            [
                "Caching Basics",
                "Choosing A Cache",
                "Pick Redis when many servers share the cache; pick an in-process cache when one process reads it.",
                "Cache Picker",
                "graph LR",
                'S["Start"] --> Q{"Shared by many servers?"}',
                'Q -- "yes" --> R["Redis"]',
                'Q -- "no" --> L["In-process cache"]',
                "The picker asks one question and ends in a cache that fits how many processes read it.",
            ]
        )
    )
    result = material_import(path=path)
    base = f"/courses/{result.course.slug}/choosing-a-cache/"
    assert Lesson.objects.get(slug="choosing-a-cache").kind == Lesson.Kind.DECISION_TREE
    html = client.get(base + "chooser/").content.decode()
    assert "Shared by many servers?" in html
    html = client.get(base + "chooser/?path=0").content.decode()
    assert '<h3 class="chooser-outcome" tabindex="-1" data-autofocus>Redis</h3>' in html
    assert "Pick Redis when many servers share the cache" in html
