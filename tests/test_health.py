from unittest import mock

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_all_parts_ok(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_database_down_is_503_naming_it(client):
    with mock.patch("config.views._database_ok", return_value=False):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "error"
    assert body["channel_layer"] == "ok"
    assert body["failed"] == ["database"]


def test_healthz_channel_layer_down_is_503_naming_it(client):
    broken = mock.Mock()
    broken.new_channel = mock.AsyncMock(side_effect=ConnectionError("down"))
    with mock.patch("config.views.get_channel_layer", return_value=broken):  # whichever layer is configured
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["channel_layer"]


def test_healthz_rejects_post(client):
    assert client.post(reverse("healthz")).status_code == 405


def test_unknown_url_renders_styled_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"Go to the home page" in response.content
