from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lessons import selectors as lesson_selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    courses = list(lesson_selectors.course_list())
    progress = lesson_selectors.progress_by_course(user=request.user, courses=courses)
    context = {
        "rows": [(course, progress[course.pk]) for course in courses],
        "continue_lesson": lesson_selectors.continue_lesson(user=request.user),
    }
    return render(request, "courses/home.html", context)
