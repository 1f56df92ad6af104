from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("playground/", include("playground.urls")),
    path("quizzes/", include("quizzes.urls")),
    path("", include("lessons.urls")),
    path("", include("courses.urls")),
]

if settings.HANDSHAKE_BENCH_VIEWS:  # `make bench` only (bench/run.py sets it for its server)
    urlpatterns.append(path("bench/", include("bench.urls")))

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
