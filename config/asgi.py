"""ASGI entry point: HTTP to Django, WebSockets through Origin validation and auth."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from config import gc_tuning  # noqa: E402
from config.access_log import HttpAccessLog, WebSocketAccessLog, WebSocketUserNote  # noqa: E402
from courses.routing import websocket_urlpatterns as courses_ws  # noqa: E402
from playground.routing import websocket_urlpatterns as playground_ws  # noqa: E402
from playground.streams import StreamsApp  # noqa: E402


def with_auth(patterns: list) -> list:
    """Each route behind AuthMiddlewareStack (cookies, session, lazy user) and the access-log user note."""
    return [
        path(str(p.pattern), AuthMiddlewareStack(WebSocketUserNote(p.callback)), name=p.name)
        for p in patterns
    ]


application = ProtocolTypeRouter(
    {
        # StreamsApp serves the playground's SSE and poll GETs before Django (no thread per open
        # request; README "Playground") and hands every other request to Django unchanged.
        # HttpAccessLog: one JSON line per request, streams included (config/access_log.py).
        "http": HttpAccessLog(StreamsApp(django_asgi_app)),
        # WebSocketAccessLog: one JSON line per connection open/close (refused upgrades included).
        # The playground socket resolves its user once at connect from the session cookie and needs no
        # session writes, so it is mounted without AuthMiddlewareStack, whose wrappers would sit on every
        # frame (BENCHMARKS.md: echo and fan-out); the course sockets keep the stack.
        "websocket": WebSocketAccessLog(
            AllowedHostsOriginValidator(URLRouter([*playground_ws, *with_auth(courses_ws)]))
        ),
    }
)

gc_tuning.tune()  # after everything above is imported: freeze it out of future collections
