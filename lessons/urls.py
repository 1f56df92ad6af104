from django.urls import path

from lessons import views

app_name = "lessons"

urlpatterns = [
    path("courses/", views.course_list, name="course-list"),
    path("courses/<slug:course_slug>/", views.course_detail, name="course-detail"),
    path("courses/<slug:course_slug>/<slug:lesson_slug>/", views.lesson_detail, name="lesson-detail"),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/complete/",
        views.lesson_complete,
        name="lesson-complete",
    ),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/uncomplete/",
        views.lesson_uncomplete,
        name="lesson-uncomplete",
    ),
    path("courses/<slug:course_slug>/<slug:lesson_slug>/chooser/", views.chooser, name="chooser"),
    path("search/", views.search, name="search"),
    path("my-learning/", views.my_learning, name="my-learning"),
]
