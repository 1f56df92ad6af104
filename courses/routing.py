from django.urls import path

from courses import consumers

websocket_urlpatterns = [
    path("ws/courses/cohorts/<int:cohort_id>/", consumers.CohortDashboardConsumer.as_asgi()),
    path("ws/courses/me/", consumers.LearnerConsumer.as_asgi()),
]
