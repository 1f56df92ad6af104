from django.urls import include, path

from playground import streams, views

app_name = "playground"

urlpatterns = [
    path("", views.playground, name="home"),
    path("", include("playground.fault_urls")),  # faults and guided experiments
    path("<str:stream>/events/", streams.sse_events, name="stream-events"),
    path("<str:stream>/poll/", streams.poll, name="stream-poll"),
    path("<str:stream>/send/", streams.send, name="stream-send"),
]
