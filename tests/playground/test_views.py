"""The playground page: four panes, the stream picker, config for the JS, honest lesson links."""

import json

import pytest
from django.urls import reverse

from playground import selectors

URL = "/playground/"


def page_config(response):
    html = response.content.decode()
    start = html.index('id="playground-config"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_url_names_round_trip():
    assert reverse("playground:home") == URL
    assert reverse("playground:stream-events", kwargs={"stream": "ticker"}) == "/playground/ticker/events/"
    assert reverse("playground:stream-poll", kwargs={"stream": "room-a"}) == "/playground/room-a/poll/"
    assert reverse("playground:stream-send", kwargs={"stream": "room-a"}) == "/playground/room-a/send/"


@pytest.mark.django_db
def test_playground_query_count(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # the lesson link lookup; nothing per pane
        response = client.get(URL)
    assert response.status_code == 200


@pytest.mark.django_db
def test_playground_anonymous_shows_four_panes_and_login_hint(client):
    response = client.get(URL)
    html = response.content.decode()
    for key in ["ws", "sse", "long_poll", "short_poll"]:
        assert f'data-pane="{key}"' in html
    assert "Log in</a> to send chat messages" in html
    assert "Replay buffer: the last <strong>1000</strong> events" in html
    assert 'type="module" src="/static/playground/playground.js" nonce="' in html
    config = page_config(response)
    assert config["stream"] == "ticker"
    assert config["wsPath"] == "/ws/playground/ticker/"
    assert config["loggedIn"] is False
    assert "4009" in html


@pytest.mark.django_db
def test_playground_room_for_logged_in_user(client, learner, django_assert_num_queries):
    client.force_login(learner)
    with django_assert_num_queries(4):  # session, user, lesson link, the nav's due-review badge
        response = client.get(URL, {"stream": "room", "room": "study-group"})
    config = page_config(response)
    assert config["stream"] == "room-study-group"
    assert config["sendPath"] == "/playground/room-study-group/send/"
    assert config["loggedIn"] is True
    assert config["userName"] == learner.name
    assert "Log in</a> to send" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("room", ["Bad Name", "a" * 41, "<script>", ""])
def test_playground_bad_room_falls_back_to_ticker(client, room):
    response = client.get(URL, {"stream": "room", "room": room})
    assert response.status_code == 200
    assert page_config(response)["stream"] == "ticker"
    html = response.content.decode()
    assert "Room names use 1-40 lowercase letters" in html
    assert "<script>" not in html.split('id="room-name"')[1].split(">")[0]


@pytest.mark.django_db
def test_lesson_link_absent_without_material():
    assert selectors.lesson_link_for_realtime() is None


@pytest.mark.django_db
def test_playground_post_not_allowed(client):
    assert client.post(URL).status_code == 405


@pytest.mark.slow
@pytest.mark.django_db
def test_lesson_link_resolves_after_import(client, settings, django_assert_num_queries):
    from django.core.management import call_command

    call_command("import_material", str(settings.MATERIAL_DIR / "communication-protocols.txt"), verbosity=0)
    url = "/courses/communication-protocols-in-system-design/real-time-communication-protocols/#real-time-communication-protocols"
    assert selectors.lesson_link_for_realtime() == {"url": url, "title": "Real-Time Communication Protocols"}
    with django_assert_num_queries(1):
        response = client.get(URL)
    html = response.content.decode()
    assert html.count(f'href="{url}"') == 5  # the intro and each of the four panes
    assert client.get(url.split("#")[0]).status_code == 200
