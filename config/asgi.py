"""ASGI entry point: HTTP to Django, WebSockets through Origin validation and auth."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.access_log import HttpAccessLog, WebSocketAccessLog, WebSocketUserNote  # noqa: E402
from courses.routing import websocket_urlpatterns as courses_ws  # noqa: E402
from playground.routing import websocket_urlpatterns as playground_ws  # noqa: E402
from playground.streams import StreamsApp  # noqa: E402

application = ProtocolTypeRouter(
    {
        # StreamsApp serves the playground's SSE and poll GETs before Django (no thread per open
        # request; README "Playground") and hands every other request to Django unchanged.
        # HttpAccessLog: one JSON line per request, streams included (config/access_log.py).
        "http": HttpAccessLog(StreamsApp(django_asgi_app)),
        # WebSocketAccessLog: one JSON line per connection open/close (refused upgrades included).
        "websocket": WebSocketAccessLog(
            AllowedHostsOriginValidator(
                AuthMiddlewareStack(WebSocketUserNote(URLRouter([*playground_ws, *courses_ws])))
            )
        ),
    }
)
