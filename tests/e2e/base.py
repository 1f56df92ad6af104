"""Browser journeys: Playwright's sync API driving Debian's chromium against a live Daphne.

The server is another process: create data in the database (it shares the file-based
SQLite test DB), never through this process's channel layer.
"""

import os
import shutil

import pytest
from channels.testing import ChannelsLiveServerTestCase
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import REQUIRE_SERVICES
from tests.factories import TEST_PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.e2e
class BrowserTestCase(ChannelsLiveServerTestCase):
    host = "127.0.0.1"
    browser: Browser

    @classmethod
    def setUpClass(cls) -> None:
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        if executable is None:
            if REQUIRE_SERVICES:
                raise RuntimeError("chromium is required (REQUIRE_SERVICES=1) but not installed")
            raise pytest.skip.Exception("chromium is not installed", _use_item_location=True)
        super().setUpClass()
        cls._playwright = sync_playwright().start()
        cls.browser = cls._playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.browser.close()
        cls._playwright.stop()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        self.context = self.new_context()
        self.page = self.context.new_page()

    def tearDown(self) -> None:
        for context in self.browser.contexts:
            context.close()
        super().tearDown()

    def new_context(self, **kwargs) -> BrowserContext:
        context = self.browser.new_context(base_url=self.live_server_url, **kwargs)
        context.set_default_timeout(10_000)
        return context

    def url(self, path: str) -> str:
        return self.live_server_url + path

    def log_in(self, page: Page, username: str, password: str = TEST_PASSWORD) -> None:
        page.goto(self.url("/accounts/login/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
