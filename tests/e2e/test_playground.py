"""The playground in a real browser: four transports on one room, a message sent from the SSE pane
arrives in every pane (with latency figures), on a live Daphne."""

import re

from playwright.sync_api import expect

from tests.e2e.base import BrowserTestCase
from tests.factories import UserFactory


class PlaygroundJourneyTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        UserFactory(username="learner", display_name="Lee Learner")

    def pane(self, key):
        return self.page.locator(f'[data-pane="{key}"]')

    def test_send_from_sse_pane_reaches_all_four_panes(self) -> None:
        page = self.page
        self.log_in(page, "learner")
        page.goto(self.url("/playground/?stream=room&room=e2e-chat"))
        expect(page.get_by_role("heading", name="Protocol playground")).to_be_visible()
        expect(page.locator('[data-role="stream-name"]')).to_have_text("room-e2e-chat")
        self.pane("short_poll").get_by_label("Interval").select_option("500")
        page.get_by_role("button", name="Connect all", exact=True).click()
        for key, state in [
            ("ws", "open"),
            ("sse", "open"),
            ("long_poll", "waiting"),
            ("short_poll", re.compile("idle|polling")),
        ]:
            expect(self.pane(key).locator('[data-role="state"]')).to_have_text(state)
        # The clock offset comes from the WebSocket's ping/pong burst.
        expect(page.locator('[data-role="offset"]')).to_have_text(re.compile(r"-?\d+ ms \(best RTT \d+ ms\)"))
        expect(page.locator('[data-role="presence"]')).to_contain_text("WebSocket 1")

        sse = self.pane("sse")
        sse.get_by_label("Send to the room (POST)").fill("hello from SSE")
        sse.get_by_role("button", name="Send", exact=True).click()
        for key in ["ws", "sse", "long_poll", "short_poll"]:
            log = self.pane(key).locator('[data-role="log"]')
            expect(log).to_contain_text('"text":"hello from SSE"', timeout=15_000)
            expect(self.pane(key).locator('[data-metric="events"]')).not_to_have_text("0")
            expect(self.pane(key).locator('[data-metric="latency"]')).to_have_text(
                re.compile(r"-?\d+ ms / -?\d+ ms")
            )
        expect(sse.locator('[data-metric="rtt"]')).to_have_text(re.compile(r"\d+ ms \(1\)"))
        expect(sse.locator('[data-role="log"]')).to_contain_text("POST text → 202 id 1")
        summary = page.locator('[data-summary="sse"]')
        expect(summary).to_contain_text("open")
        for key in ["ws", "sse", "long_poll", "short_poll"]:
            expect(self.pane(key).locator('[data-metric="gaps"]')).to_have_text("0 (0) / 0")

        page.get_by_role("button", name="Disconnect all", exact=True).click()
        for key in ["ws", "sse", "long_poll", "short_poll"]:
            expect(self.pane(key).locator('[data-role="state"]')).to_have_text("closed")

    def test_anonymous_can_watch_the_ticker_but_not_send(self) -> None:
        page = self.page
        page.goto(self.url("/playground/"))
        expect(page.get_by_text("to send chat messages")).to_be_visible()
        expect(self.pane("ws").get_by_role("button", name="Send", exact=True)).to_be_disabled()
        self.pane("ws").get_by_role("button", name="Connect WebSocket", exact=True).click()
        expect(self.pane("ws").locator('[data-role="state"]')).to_have_text("open")
        expect(self.pane("ws").locator('[data-role="log"]')).to_contain_text('"type":"tick"', timeout=10_000)
        page.set_viewport_size({"width": 390, "height": 800})
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390

    def test_three_tabs_get_a_connection_budget_warning(self) -> None:
        pages = [self.page, self.context.new_page(), self.context.new_page()]
        for page in pages:
            page.goto(self.url("/playground/"))
        expect(pages[0].locator('[data-role="tabs-warning"]')).to_contain_text(
            "3 playground tabs are open", timeout=8000
        )
        pages[2].close()
        pages[1].close()
        expect(pages[0].locator('[data-role="tabs-warning"]')).to_be_hidden(timeout=10_000)
