"""Quiz pages: thin views over services (writes) and selectors (reads).

Every page works as plain links and forms; htmx requests get the page's partial instead.
Before a mock interview is submitted nothing here renders a question's key, explanation or rubric.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from quizzes import conf, grading, selectors, services
from quizzes.forms import MockStartForm, PracticeStartForm
from quizzes.models import Answer, Attempt, Level, PracticeSession, Question, QuestionType


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _question_id(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("question", ""))
    except ValueError:
        return None


def _question_view(question: Question, *, seed: str, prefill: dict | None = None) -> dict[str, Any]:
    """The visible side of a question (never its key) laid out for the form."""
    prefill = grading.prefill_tokens(response=prefill or {}, seed=seed)
    layout = grading.display(type_=question.type, data=question.data, answer=question.answer, seed=seed)
    rows: list[tuple[Any, str]] = []
    if question.type == QuestionType.ORDERING:
        order = prefill.get("order") or [item.id for item in layout["items"]]
        rows = list(enumerate(order, 1))
    elif question.type == QuestionType.MATCHING:
        matches = prefill.get("matches") or {}
        rows = [(left, matches.get(left.id, "")) for left in layout["left"]]
    return {"question": question, "layout": layout, "rows": rows, "prefill": prefill}


def _render(
    request: HtmxHttpRequest, template: str, partial: str, context: dict, status: int = 200
) -> HttpResponse:
    if request.htmx and not request.htmx.boosted:
        template = f"{template}#{partial}"
    return render(request, template, context, status=status)


# --- landing -------------------------------------------------------------------------------


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    key_areas = list(selectors.key_area_list())
    context = {
        "form": PracticeStartForm(key_areas=selectors.key_area_list()),
        "key_areas": key_areas,
        "levels": _levels(),
    }
    if request.user.is_authenticated:
        context["open_attempt"] = services.attempt_open_for(user=request.user)
        context["recent_sessions"] = list(selectors.practice_session_list_for_user(user=request.user)[:3])
    return render(request, "quizzes/home.html", context)


def _levels() -> list[dict[str, Any]]:
    counts = selectors.level_question_counts()
    return [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "minutes": conf.mock_minutes(value),
            "questions": conf.mock_question_count(value),
        }
        for value, label in Level.choices
    ]


# --- practice ------------------------------------------------------------------------------


@login_required
@require_POST
def practice_start(request: HtmxHttpRequest) -> HttpResponse:
    form = PracticeStartForm(request.POST, key_areas=selectors.key_area_list())
    if form.is_valid():
        try:
            session = services.practice_start(
                user=request.user,
                level=form.cleaned_data["level"],
                key_areas=list(form.cleaned_data["key_areas"]),
                count=form.cleaned_data["count"],
            )
        except services.QuizError as exc:
            form.add_error(None, exc)
        else:
            return redirect("quizzes:practice-detail", session_id=session.pk)
    context = {"form": form, "key_areas": list(selectors.key_area_list()), "levels": _levels()}
    return render(request, "quizzes/home.html", context, status=400)


def _practice_context(session: PracticeSession, *, feedback: Answer | None = None, error: str = "") -> dict:
    answers = selectors.practice_answers(session=session)
    context: dict[str, Any] = {
        "session": session,
        "tally": selectors.tally(answers),
        "total": len(session.question_ids),
        # the question on screen: the one just answered while its feedback shows, else the next one
        "number": min(session.position + (0 if feedback is not None else 1), len(session.question_ids)),
        "error": error,
    }
    if feedback is not None:
        context["feedback"] = selectors.answer_feedback(answer=feedback)
        context["grade_url"] = reverse(
            "quizzes:practice-grade", kwargs={"session_id": session.pk, "answer_id": feedback.pk}
        )
    else:
        question = selectors.practice_current_question(session=session)
        if question is not None:
            context.update(_question_view(question, seed=grading.seed_practice(session.pk, question.pk)))
    return context


def _session_for(request: HttpRequest, session_id: int) -> PracticeSession:
    return get_object_or_404(selectors.practice_session_list_for_user(user=request.user), pk=session_id)


@login_required
@require_GET
def practice_detail(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    feedback = None
    if request.GET.get("answered", "").isdigit():
        feedback = (
            Answer.objects.filter(practice_session=session, pk=int(request.GET["answered"]))
            .select_related("question__section__lesson__course")
            .first()
        )
    if feedback is None and session.is_finished:
        if request.htmx:
            return HttpResponseClientRedirect(reverse("quizzes:practice-summary", args=[session.pk]))
        return redirect("quizzes:practice-summary", session_id=session.pk)
    return _render(
        request,
        "quizzes/practice_detail.html",
        "practice-main",
        _practice_context(session, feedback=feedback),
    )


def _refused(
    request: HtmxHttpRequest, template: str, partial: str, context: dict, exc: services.QuizError
) -> HttpResponse:
    context["error"] = exc.messages[0]
    return _render(request, template, partial, context, status=exc.status)


@login_required
@require_POST
def practice_answer(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    question_id = _question_id(request)
    try:
        if question_id is None:
            raise services.NotInSet("Say which question you are answering.")
        answer = services.practice_answer(session=session, question_id=question_id, post=request.POST)
    except services.QuizError as exc:
        session.refresh_from_db()
        context = _practice_context(session)  # the current question again, with the message
        return _refused(request, "quizzes/practice_detail.html", "practice-main", context, exc)
    if not request.htmx:
        return redirect(f"{reverse('quizzes:practice-detail', args=[session.pk])}?answered={answer.pk}")
    answer = Answer.objects.select_related("question__section__lesson__course").get(pk=answer.pk)
    session.refresh_from_db()
    return _render(
        request, "quizzes/practice_detail.html", "practice-main", _practice_context(session, feedback=answer)
    )


@login_required
@require_POST
def practice_skip(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    question_id = _question_id(request)
    try:
        if question_id is None:
            raise services.NotInSet("Say which question you are skipping.")
        services.practice_skip(session=session, question_id=question_id)
    except services.QuizError as exc:
        session.refresh_from_db()
        return _refused(
            request, "quizzes/practice_detail.html", "practice-main", _practice_context(session), exc
        )
    session.refresh_from_db()
    if session.is_finished:
        if request.htmx:
            return HttpResponseClientRedirect(reverse("quizzes:practice-summary", args=[session.pk]))
        return redirect("quizzes:practice-summary", session_id=session.pk)
    if not request.htmx:
        return redirect("quizzes:practice-detail", session_id=session.pk)
    return _render(request, "quizzes/practice_detail.html", "practice-main", _practice_context(session))


@login_required
@require_POST
def practice_grade(request: HtmxHttpRequest, session_id: int, answer_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    answer = get_object_or_404(
        Answer.objects.select_related("question__section__lesson__course"),
        practice_session=session,
        pk=answer_id,
    )
    try:
        answer = services.answer_self_grade(answer=answer, post=request.POST)
    except services.QuizError as exc:
        return _refused(
            request,
            "quizzes/practice_detail.html",
            "practice-main",
            _practice_context(session, feedback=answer),
            exc,
        )
    if not request.htmx:
        return redirect(f"{reverse('quizzes:practice-detail', args=[session.pk])}?answered={answer.pk}")
    return _render(
        request, "quizzes/practice_detail.html", "practice-main", _practice_context(session, feedback=answer)
    )


@login_required
@require_POST
def practice_finish(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = services.practice_finish(session=_session_for(request, session_id))
    return redirect("quizzes:practice-summary", session_id=session.pk)


@login_required
@require_GET
def practice_summary(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    answers = selectors.practice_answers(session=session)
    answered_ids = {a.question_id for a in answers}
    context = {
        "session": session,
        "tally": selectors.tally(answers),
        "answers": answers,
        "total": len(session.question_ids),
        "skipped": sum(1 for qid in session.question_ids[: session.position] if qid not in answered_ids),
        "unseen": max(len(session.question_ids) - session.position, 0),
    }
    return render(request, "quizzes/practice_summary.html", context)


# --- mock interviews -----------------------------------------------------------------------


def _attempt_for(request: HttpRequest, attempt_id: int) -> Attempt:
    return get_object_or_404(selectors.attempt_list_for_user(user=request.user), pk=attempt_id)


@login_required
@require_POST
def mock_start(request: HtmxHttpRequest) -> HttpResponse:
    form = MockStartForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose a level: mid, senior or staff.", status=400, content_type="text/plain")
    level = form.cleaned_data["level"]
    try:
        attempt, created = services.attempt_start(user=request.user, level=level)
    except services.QuizError as exc:
        messages.error(request, exc.messages[0])
        return redirect("quizzes:home")
    if not created:
        messages.info(
            request,
            f"You already have a {attempt.get_level_display()} mock interview in progress: it continues here. "
            "Submit it before starting another.",
        )
    return redirect("quizzes:attempt-detail", attempt_id=attempt.pk)


def _attempt_context(attempt: Attempt, *, position: int | None, error: str = "") -> dict[str, Any]:
    slots = selectors.attempt_slots(attempt=attempt)
    if position is None:
        position = next((s.position for s in slots if s.answer is None), 1)
    position = min(max(position, 1), len(slots))
    slot = slots[position - 1]
    now = timezone.now()
    context: dict[str, Any] = {
        "attempt": attempt,
        "slots": slots,
        "slot": slot,
        "answered": sum(1 for s in slots if s.answer is not None),
        "remaining_seconds": max(int((attempt.deadline - now).total_seconds()), 0),
        "server_now": now,
        "error": error,
        "next_position": position + 1 if position < len(slots) else position,
    }
    context.update(
        _question_view(
            slot.question,
            seed=grading.seed_mock(attempt.pk, slot.question.pk),
            prefill=slot.answer.response if slot.answer else None,
        )
    )
    return context


def _position(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
@require_GET
def attempt_detail(request: HtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    services.attempt_expire_if_due(attempt=attempt)
    if attempt.is_submitted:
        if request.htmx:
            return HttpResponseClientRedirect(reverse("quizzes:attempt-review", args=[attempt.pk]))
        return redirect("quizzes:attempt-review", attempt_id=attempt.pk)
    context = _attempt_context(attempt, position=_position(request.GET.get("q")))
    return _render(request, "quizzes/attempt_detail.html", "attempt-main", context)


@login_required
@require_POST
def attempt_answer(request: HtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    question_id = _question_id(request)
    next_position = _position(request.POST.get("next"))
    try:
        if question_id is None:
            raise services.NotInSet("Say which question you are answering.")
        services.attempt_answer(attempt=attempt, question_id=question_id, post=request.POST)
    except (services.TimeUp, services.AlreadyDone) as exc:
        return _closed(request, attempt, exc)
    except services.QuizError as exc:
        current = next(
            (s.position for s in selectors.attempt_slots(attempt=attempt) if s.question.pk == question_id),
            None,
        )
        context = _attempt_context(attempt, position=current, error=exc.messages[0])
        return _render(request, "quizzes/attempt_detail.html", "attempt-main", context, status=exc.status)
    if not request.htmx:
        url = reverse("quizzes:attempt-detail", args=[attempt.pk])
        return redirect(f"{url}?q={next_position}" if next_position else url)
    return _render(
        request,
        "quizzes/attempt_detail.html",
        "attempt-main",
        _attempt_context(attempt, position=next_position),
    )


def _closed(request: HtmxHttpRequest, attempt: Attempt, exc: services.QuizError) -> HttpResponse:
    """A late or post-submission answer: say so clearly, with the way to the review."""
    attempt.refresh_from_db()
    context = {"attempt": attempt, "message": exc.messages[0]}
    return _render(request, "quizzes/attempt_closed.html", "attempt-closed", context, status=exc.status)


@login_required
@require_POST
def attempt_submit(request: HtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    submitted = services.attempt_submit(attempt=attempt, auto=request.POST.get("auto") == "1")
    if submitted:
        messages.success(request, "Mock interview submitted. Here is your review.")
    url = reverse("quizzes:attempt-review", args=[attempt.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_GET
def attempt_review(request: HtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    services.attempt_expire_if_due(attempt=attempt)
    if not attempt.is_submitted:
        messages.info(request, "The review opens once the mock interview is submitted.")
        return redirect("quizzes:attempt-detail", attempt_id=attempt.pk)
    return render(request, "quizzes/attempt_review.html", _review_context(attempt))


def _review_context(attempt: Attempt) -> dict[str, Any]:
    slots = selectors.attempt_slots(attempt=attempt)
    answers = [s.answer for s in slots if s.answer is not None]
    items = []
    for slot in slots:
        item = {"slot": slot, "question": slot.question}
        item["key"] = grading.describe_key(
            type_=slot.question.type, data=slot.question.data, answer=slot.question.answer
        )
        if slot.answer is not None:
            item.update(selectors.answer_feedback(answer=slot.answer))
            item["grade_url"] = reverse(
                "quizzes:attempt-grade", kwargs={"attempt_id": attempt.pk, "question_id": slot.question.pk}
            )
        items.append(item)
    tally = selectors.tally(answers)
    # per key area over every question asked (unanswered ones count as 0)
    areas: dict[int, selectors.AreaScore] = {}
    for slot in slots:
        for area in slot.question.key_areas.all():
            row = areas.setdefault(area.pk, selectors.AreaScore(area=area))
            row.answered += 1
            row.points += (slot.answer.score or 0) if slot.answer else 0
    return {
        "attempt": attempt,
        "items": items,
        "tally": tally,
        "areas": sorted(areas.values(), key=lambda a: a.area.position),
        "total": len(slots),
        "unanswered": sum(1 for s in slots if s.answer is None),
    }


@login_required
@require_POST
def attempt_grade(request: HtmxHttpRequest, attempt_id: int, question_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    answer = get_object_or_404(Answer, attempt=attempt, question_id=question_id)
    try:
        services.answer_self_grade(answer=answer, post=request.POST)
    except services.QuizError as exc:
        messages.error(request, exc.messages[0])
        if request.htmx:
            return HttpResponseClientRedirect(reverse("quizzes:attempt-review", args=[attempt.pk]))
        return redirect("quizzes:attempt-review", attempt_id=attempt.pk)
    attempt.refresh_from_db()
    url = reverse("quizzes:attempt-review", args=[attempt.pk]) + f"#question-{question_id}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_GET
def attempt_history(request: HtmxHttpRequest, level: str) -> HttpResponse:
    if level not in Level.values:
        raise Http404("No such level.")
    attempts = selectors.attempt_history(user=request.user, level=level)
    context = {
        "level": level,
        "level_label": Level(level).label,
        "attempts": attempts,
        "chart": selectors.history_chart(attempts),
        "levels": Level.choices,
        "best": max((a.score or 0 for a in attempts), default=None),
    }
    return render(request, "quizzes/attempt_history.html", context)


# --- spaced review -------------------------------------------------------------------------


def _review_page_context(request: HttpRequest, *, feedback: Answer | None = None, error: str = "") -> dict:
    queue = selectors.review_queue(user=request.user)
    context: dict[str, Any] = {"queue": queue, "due": len(queue), "error": error}
    if feedback is not None:
        context["feedback"] = selectors.answer_feedback(answer=feedback)
        context["grade_url"] = reverse("quizzes:review-grade", kwargs={"answer_id": feedback.pk})
    elif queue:
        card = queue[0]
        context["card"] = card
        context.update(_question_view(card.question, seed=grading.seed_review(card.pk, card.reps)))
    else:
        context["upcoming"] = selectors.review_upcoming(user=request.user)
    return context


@login_required
@require_GET
def review(request: HtmxHttpRequest) -> HttpResponse:
    feedback = None
    if request.GET.get("answered", "").isdigit():
        feedback = (
            Answer.objects.filter(user=request.user, mode=Answer.Mode.REVIEW, pk=int(request.GET["answered"]))
            .select_related("question__section__lesson__course")
            .first()
        )
    return _render(
        request, "quizzes/review.html", "review-main", _review_page_context(request, feedback=feedback)
    )


@login_required
@require_POST
def review_answer(request: HtmxHttpRequest) -> HttpResponse:
    question_id = _question_id(request)
    try:
        if question_id is None:
            raise services.NotInSet("Say which question you are answering.")
        answer = services.review_answer(user=request.user, question_id=question_id, post=request.POST)
    except services.QuizError as exc:
        return _refused(request, "quizzes/review.html", "review-main", _review_page_context(request), exc)
    if not request.htmx:
        return redirect(f"{reverse('quizzes:review')}?answered={answer.pk}")
    answer = Answer.objects.select_related("question__section__lesson__course").get(pk=answer.pk)
    return _render(
        request, "quizzes/review.html", "review-main", _review_page_context(request, feedback=answer)
    )


@login_required
@require_POST
def review_grade(request: HtmxHttpRequest, answer_id: int) -> HttpResponse:
    answer = get_object_or_404(
        Answer.objects.select_related("question__section__lesson__course"),
        user=request.user,
        mode=Answer.Mode.REVIEW,
        pk=answer_id,
        question__type=QuestionType.FREE,
    )
    try:
        answer = services.answer_self_grade(answer=answer, post=request.POST)
    except services.QuizError as exc:
        return _refused(
            request, "quizzes/review.html", "review-main", _review_page_context(request, feedback=answer), exc
        )
    if not request.htmx:
        return redirect(f"{reverse('quizzes:review')}?answered={answer.pk}")
    return _render(
        request, "quizzes/review.html", "review-main", _review_page_context(request, feedback=answer)
    )
