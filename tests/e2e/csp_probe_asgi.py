"""A test-only ASGI application: the site plus a same-origin WebSocket echo at ws/csp-probe/,
so the browser test can prove that CSP `connect-src 'self'` admits same-origin ws:// without
depending on any app's consumer."""

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application
from django.urls import path


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": AllowedHostsOriginValidator(URLRouter([path("ws/csp-probe/", Echo.as_asgi())])),
    }
)
