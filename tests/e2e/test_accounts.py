from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.base import BrowserTestCase


class SignupJourneyTests(BrowserTestCase):
    def test_sign_up_log_out_and_log_back_in(self):
        page = self.page
        page.goto(self.url("/"))
        page.get_by_role("link", name="Sign up").click()
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill("a-long-enough-passphrase")
        page.get_by_label("Password confirmation").fill("a-long-enough-passphrase")
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_text("Welcome to Handshake, ada!")).to_be_visible()
        assert User.objects.filter(username="ada").exists()

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("link", name="Log in")).to_be_visible()
        self.log_in(page, "ada", "a-long-enough-passphrase")
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

    def test_signup_errors_are_announced_next_to_fields(self):
        page = self.page
        page.goto(self.url("/accounts/signup/"))
        page.get_by_label("Username").fill("bob")
        page.get_by_label("Email").fill("not-an-email")
        page.get_by_label("Password", exact=True).fill("123")
        page.get_by_label("Password confirmation").fill("123")
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
        expect(page.get_by_text("This password is too short.", exact=False)).to_be_visible()
