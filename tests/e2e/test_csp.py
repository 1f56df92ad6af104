"""In Chromium, no page logs a Content Security Policy violation, and `connect-src 'self'`
admits same-origin WebSockets (CSP3) while refusing other origins."""

from django.test import override_settings
from playwright.sync_api import Error, Page

from tests.e2e.base import BrowserTestCase
from tests.factories import UserFactory
from tests.site_pages import argument_free_paths

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""

OPEN_SOCKET = """
(url) => new Promise((resolve) => {
  let socket;
  try { socket = new WebSocket(url); } catch (error) { resolve("threw " + error.name); return; }
  const timer = setTimeout(() => resolve("timeout"), 5000);
  socket.onopen = () => { socket.send("ping"); };
  socket.onmessage = (event) => { clearTimeout(timer); socket.close(); resolve("echo " + event.data); };
  socket.onerror = () => { clearTimeout(timer); resolve("error"); };
})
"""


@override_settings(ASGI_APPLICATION="tests.e2e.csp_probe_asgi.application")
class ContentSecurityPolicyTests(BrowserTestCase):
    def watch(self, page: Page) -> list[str]:
        console: list[str] = []
        page.on(
            "console",
            lambda message: (
                console.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.add_init_script(RECORD_VIOLATIONS)
        return console

    def violations_on(self, page: Page, console: list[str], paths: list[str]) -> dict[str, list[str]]:
        found = {}
        for path in paths:
            console.clear()
            try:
                response = page.goto(self.url(path), wait_until="load")
            except Error:  # an empty non-2xx answer (e.g. 405 for a POST-only endpoint): not a page
                continue
            if response is None or not response.headers.get("content-type", "").startswith("text/html"):
                continue
            page.wait_for_timeout(150)  # let module scripts and htmx initialise
            seen = page.evaluate("window.__cspViolations") + console
            if seen:
                found[path] = seen
        return found

    def test_no_page_logs_a_csp_violation_anonymous(self):
        console = self.watch(self.page)
        paths = [*argument_free_paths(), "/no/such/page/"]
        assert self.violations_on(self.page, console, paths) == {}

    def test_no_page_logs_a_csp_violation_logged_in(self):
        UserFactory(username="csp")
        self.log_in(self.page, "csp")
        console = self.watch(self.page)
        paths = [path for path in argument_free_paths() if not path.startswith("/accounts/log")]
        assert self.violations_on(self.page, console, paths) == {}

    def test_connect_src_self_admits_same_origin_websockets_only(self):
        page = self.page
        console = self.watch(page)
        page.goto(self.url("/"))
        same_origin = page.evaluate(OPEN_SOCKET, f"{self.live_server_ws_url}/ws/csp-probe/")
        foreign = page.evaluate(OPEN_SOCKET, f"ws://localhost:{self._port}/ws/csp-probe/")
        violations = page.evaluate("window.__cspViolations")
        assert same_origin == "echo ping"
        assert foreign != "echo ping"
        assert violations == [f"connect-src blocked ws://localhost:{self._port}/ws/csp-probe/"]
        assert any("violates the following Content Security Policy directive" in line for line in console)
