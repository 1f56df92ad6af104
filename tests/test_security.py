"""Site-wide security properties: CSP on every page, bad Host, error pages that reveal nothing."""

import re

import pytest
from django.test import Client
from django.urls import get_resolver, path

from tests.factories import TEST_PASSWORD
from tests.site_pages import argument_free_paths

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
DATA_BLOCK = re.compile(r'\stype="application/(ld\+)?json"', re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (directive.split() for directive in header.split(";") if directive.strip())
    }


def _assert_strict_policy(response, path: str) -> None:
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"], path
    assert "'unsafe-inline'" not in policy["script-src"], path
    assert "'unsafe-eval'" not in policy["script-src"], path
    assert "'unsafe-inline'" not in policy["style-src"], path
    # 'self' covers same-origin ws:/wss: in CSP3 browsers (proved in tests/e2e/test_csp.py).
    assert policy["connect-src"] == ["'self'"], path
    assert policy["frame-ancestors"] == ["'none'"], path
    assert policy["object-src"] == ["'none'"], path


def _assert_scripts_carry_the_nonce(response, path: str) -> None:
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    # Data blocks ({{ value|json_script }}: type="application/json") are never executed: no nonce needed.
    tags = [tag for tag in SCRIPT_TAG.findall(html) if not DATA_BLOCK.search(tag)]
    if tags:
        assert nonce, f"{path}: scripts but no nonce in the policy"
        assert "'nonce-" in " ".join(_policy(response)["script-src"]), path
        for tag in tags:
            assert f'nonce="{nonce.group(1)}"' in tag, f"{path}: {tag}"
    assert not INLINE_HANDLER.search(html), f"{path}: inline event handler"


def test_the_page_walk_finds_the_known_pages():
    paths = argument_free_paths()
    assert {"/", "/accounts/login/", "/accounts/signup/", "/healthz"} <= set(paths)


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_every_page_sends_a_strict_csp_with_nonced_scripts(client, learner, logged_in):
    if logged_in:
        client.force_login(learner)
    checked = []
    for url in argument_free_paths():
        response = client.get(url)
        _assert_strict_policy(response, url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            _assert_scripts_carry_the_nonce(response, url)
            checked.append(url)
    assert "/" in checked
    if not logged_in:
        assert {"/accounts/login/", "/accounts/signup/"} <= set(checked)


def test_home_page_scripts_use_the_header_nonce(client):
    response = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()
    assert (
        client.get("/")["Content-Security-Policy"] != response["Content-Security-Policy"]
    )  # fresh per request


def test_error_pages_send_the_csp_too(client):
    not_found = client.get("/no/such/page/")
    bad_host = client.get("/", HTTP_HOST="evil.example")
    for response in (not_found, bad_host):
        _assert_strict_policy(response, response.request["PATH_INFO"])
        _assert_scripts_carry_the_nonce(response, response.request["PATH_INFO"])


def test_bad_host_header_gets_400_and_reveals_nothing(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Bad request" in body
    for leak in ("DisallowedHost", "ALLOWED_HOSTS", "evil.example", "Traceback"):
        assert leak not in body


def test_host_header_injection_attempts_get_400(client):
    for host in ("evil.example:80@127.0.0.1", "127.0.0.1 evil", "localhost\r\nX: y", "[::1"):
        assert client.get("/", HTTP_HOST=host).status_code == 400, host


def test_oversized_form_body_is_refused_with_a_clear_413(client):
    response = client.post("/accounts/login/", {"username": "x" * (1024 * 1024 + 10), "password": "p"})
    assert response.status_code == 413
    assert b"Request too large" in response.content
    assert b"at most 1 MB" in response.content


def test_csrf_failure_is_the_styled_403_without_the_technical_reason():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a", "password": TEST_PASSWORD})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired or was sent from another site" in body
    assert "CSRF cookie not set" not in body
    assert "Go to the home page" in body


def _boom(request):
    raise RuntimeError("secret-internal-detail: database password hunter2")


urlpatterns = [path("boom/", _boom), *get_resolver("config.urls").url_patterns]


@pytest.mark.urls("tests.test_security")
def test_server_error_page_reveals_no_internals(settings):
    assert settings.DEBUG is False
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    for leak in (
        "secret-internal-detail",
        "hunter2",
        "RuntimeError",
        "Traceback",
        ".py",
        "/work/",
        "SECRET_KEY",
    ):
        assert leak not in body, leak
    assert "Content-Security-Policy" in response


def test_unknown_url_reveals_no_url_patterns(client):
    body = client.get("/definitely/not/here/").content.decode()
    assert "Using the URLconf" not in body
    assert "accounts/" not in body.split("<main", 1)[1]
