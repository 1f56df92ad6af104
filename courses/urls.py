from django.urls import path

from courses import cohort_views, views

app_name = "courses"

urlpatterns = [
    path("", views.home, name="home"),
    # Cohorts (courses/cohort_views.py)
    path("cohorts/", cohort_views.cohort_list, name="cohort-list"),
    path("cohorts/new/", cohort_views.cohort_create, name="cohort-create"),
    path("cohorts/join/<str:code>/", cohort_views.cohort_join, name="cohort-join"),
    path("cohorts/<int:cohort_id>/", cohort_views.cohort_dashboard, name="cohort-dashboard"),
    path("cohorts/<int:cohort_id>/settings/", cohort_views.cohort_settings, name="cohort-settings"),
    path("cohorts/<int:cohort_id>/invites/", cohort_views.cohort_invites, name="cohort-invites"),
    path(
        "cohorts/<int:cohort_id>/invites/<int:invite_id>/revoke/",
        cohort_views.invite_revoke,
        name="cohort-invite-revoke",
    ),
    path("cohorts/<int:cohort_id>/leave/", cohort_views.cohort_leave, name="cohort-leave"),
    path(
        "cohorts/<int:cohort_id>/learners/<int:user_id>/", cohort_views.cohort_learner, name="cohort-learner"
    ),
    path(
        "cohorts/<int:cohort_id>/learners/<int:user_id>/remove/",
        cohort_views.learner_remove,
        name="cohort-learner-remove",
    ),
    path("cohorts/<int:cohort_id>/questions/", cohort_views.cohort_questions, name="cohort-questions"),
    path("cohorts/<int:cohort_id>/message/", cohort_views.cohort_message, name="cohort-message"),
    path(
        "cohorts/<int:cohort_id>/export/learners.csv",
        cohort_views.export_learners,
        name="cohort-export-learners",
    ),
    path(
        "cohorts/<int:cohort_id>/export/questions.csv",
        cohort_views.export_questions,
        name="cohort-export-questions",
    ),
    path("cohorts/<int:cohort_id>/my-progress/", cohort_views.cohort_progress, name="cohort-progress"),
]
