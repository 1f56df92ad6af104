"""Included by config/urls.py only when settings.HANDSHAKE_BENCH_VIEWS is true (the bench server)."""

from django.urls import path

from bench import views

app_name = "bench"

urlpatterns = [
    path("ok/", views.ok, name="ok"),
]
