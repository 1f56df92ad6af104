import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_signup_creates_user_logs_in_and_redirects_to_next(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "ada",
            "email": "Ada@Example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
            "next": "/courses/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/courses/"
    user = User.objects.get(username="ada")
    assert user.email == "ada@example.com"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_refuses_offsite_next(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/"


def test_signup_weak_password_shows_validator_errors(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "bob",
            "email": "bob@example.com",
            "password1": "123",
            "password2": "123",
        },
    )
    assert response.status_code == 200
    assert b"This password is too short" in response.content
    assert b"entirely numeric" in response.content
    assert not User.objects.filter(username="bob").exists()


def test_signup_duplicate_email_is_refused(client):
    UserFactory(username="first", email="taken@example.com")
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "second",
            "email": "TAKEN@example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
        },
    )
    assert b"already exists" in response.content
    assert not User.objects.filter(username="second").exists()


def test_signup_mismatched_passwords_error(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "bob",
            "email": "bob@example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD + "x",
        },
    )
    assert b"didn\xe2\x80\x99t match" in response.content or b"didn&#x27;t match" in response.content


def test_login_and_logout(client):
    UserFactory(username="ada")
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_login_wrong_password_shows_error(client):
    UserFactory(username="ada")
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logout_by_get_is_not_allowed(client):
    assert client.get(reverse("accounts:logout")).status_code == 405


def test_password_change_requires_login(client):
    response = client.get(reverse("accounts:password-change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_change(client):
    user = UserFactory(username="ada")
    client.force_login(user)
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase")


def test_password_reset_sends_email_with_working_link(client):
    UserFactory(username="ada", email="ada@example.com")
    response = client.post(reverse("accounts:password-reset"), {"email": "ada@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    assert b"Choose a new password" in response.content
    assert b"new_password1" in response.content


def test_password_reset_invalid_link_is_explained(client):
    response = client.get(reverse("accounts:password-reset-confirm", args=["MQ", "bad-token"]))
    assert b"invalid or has already been used" in response.content
