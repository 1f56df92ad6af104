from django.urls import path

from playground.consumers import PlaygroundSocket

# Every name reaches the consumer, which closes an unknown one with 4404 after accepting
# (an unmatched route would fail the handshake: the browser would only see 1006).
websocket_urlpatterns: list = [
    path("ws/playground/<str:stream>/", PlaygroundSocket.as_asgi()),
]
