"""The measured bytes-per-event table on the real-time lesson (bench/results.json)."""

import json

import pytest

from lessons import wire_bytes
from tests.lessons.conftest import COURSE_SLUG

REALTIME_URL = f"/courses/{COURSE_SLUG}/real-time-communication-protocols/"
FIGURES = {
    "bytes_per_event_ws": 225.2,
    "bytes_per_event_sse": 281.1,
    "bytes_per_event_longpoll": 803.9,
    "bytes_per_event_shortpoll_1s": 857.1,
}


@pytest.fixture
def results(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    monkeypatch.setattr(wire_bytes, "RESULTS", path)
    wire_bytes.measured.cache_clear()
    yield path
    wire_bytes.measured.cache_clear()


def test_rows_in_transport_order(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**FIGURES, "lesson_page_ratio": 0.5}))
    assert wire_bytes.measured_rows(path) == [
        wire_bytes.Measured("WebSocket", 225.2),
        wire_bytes.Measured("Server-Sent Events", 281.1),
        wire_bytes.Measured("Long polling", 803.9),
        wire_bytes.Measured("Short polling (every 1 s)", 857.1),
    ]


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[1, 2]", "null", json.dumps({"bytes_per_event_ws": "225"})],
)
def test_unreadable_or_unexpected_files_give_no_rows(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    assert wire_bytes.measured_rows(path) == []


def test_missing_file_gives_no_rows(tmp_path):
    assert wire_bytes.measured_rows(tmp_path / "absent.json") == []


def test_bad_values_are_skipped(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps({"bytes_per_event_ws": True, "bytes_per_event_sse": -1, "bytes_per_event_longpoll": 9})
    )
    assert wire_bytes.measured_rows(path) == [wire_bytes.Measured("Long polling", 9.0)]


def test_table_on_the_real_time_lesson(client, material, results):
    results.write_text(json.dumps(FIGURES))
    html = client.get(REALTIME_URL).content.decode()
    assert "Measured on our servers" in html
    assert '<th scope="row">WebSocket</th><td>225</td>' in html
    assert '<th scope="row">Short polling (every 1 s)</th><td>857</td>' in html
    assert 'href="/playground/"' in html


def test_file_read_once_per_process(client, material, results):
    results.write_text(json.dumps(FIGURES))
    client.get(REALTIME_URL)
    results.unlink()
    assert "Measured on our servers" in client.get(REALTIME_URL).content.decode()


def test_no_table_without_results(client, material, results):
    html = client.get(REALTIME_URL).content.decode()
    assert client.get(REALTIME_URL).status_code == 200
    assert "Measured on our servers" not in html


def test_no_table_on_other_lessons(client, material, results):
    results.write_text(json.dumps(FIGURES))
    html = client.get(f"/courses/{COURSE_SLUG}/the-landscape/").content.decode()
    assert "Measured on our servers" not in html
