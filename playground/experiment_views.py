"""Guided experiment pages (sync views): the list, one experiment (predict, set up, run, explain),
storing a run's results, and pointing a cohort at an experiment."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from courses import cohort_services
from playground import experiment_selectors as selectors
from playground import experiment_services as services
from playground.experiments import EXPERIMENTS, TRANSPORT_NAMES, Experiment, experiment_get, explanation_for
from playground.log import conf

MAX_RESULTS_BYTES = 16_384
TITLES = {e.slug: e.title for e in EXPERIMENTS}


def _experiment_or_404(slug: str) -> Experiment:
    experiment = experiment_get(slug)
    if experiment is None:
        raise Http404("no such experiment")
    return experiment


@require_GET
def experiment_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.experiment_list_for_user(user=request.user)
    history = (
        selectors.prediction_history(user=request.user, limit=20) if request.user.is_authenticated else []
    )
    return render(request, "playground/experiment_list.html", {"rows": rows, "history": history})


@login_required
@require_GET
def experiment_history(request: HttpRequest) -> HttpResponse:
    """The learner's predict questions and runs: a partial for "My learning" (htmx), or a page."""
    summary = selectors.prediction_summary(user=request.user)
    recent = [(p, TITLES.get(p.experiment, p.experiment)) for p in summary.recent]
    context = {"summary": summary, "recent": recent}
    template = "playground/experiment_history.html"
    if getattr(request, "htmx", False):
        template += "#experiment-history"
    return render(request, template, context)


def _stream_config(request: HttpRequest, stream: str) -> dict:
    """What the playground's transport clients need (the same keys as the playground page)."""
    return {
        "stream": stream,
        "isRoom": stream != "ticker",
        "loggedIn": request.user.is_authenticated,
        "userName": request.user.name if request.user.is_authenticated else "",
        "wsPath": f"/ws/playground/{stream}/",
        "ssePath": reverse("playground:stream-events", kwargs={"stream": stream}),
        "pollPath": reverse("playground:stream-poll", kwargs={"stream": stream}),
        "sendPath": reverse("playground:stream-send", kwargs={"stream": stream}),
        "replaySize": conf("PLAYGROUND_REPLAY_SIZE"),
        "heartbeatSeconds": conf("PLAYGROUND_HEARTBEAT_SECONDS"),
    }


def _detail_context(request: HttpRequest, experiment: Experiment, prediction=None) -> dict:
    return {
        "stream_config": _stream_config(request, experiment.stream),
        "predicted_text": experiment.choice_text(prediction.choice) if prediction else "",
        "experiment": experiment,
        "config": experiment.config(),
        "prediction": prediction,
        "sections": selectors.section_links(experiment=experiment),
        "runs": selectors.run_list_for_user(user=request.user, experiment=experiment),
        "cohorts": selectors.cohorts_taught_by(user=request.user),
        "transport_names": TRANSPORT_NAMES,
        "pane_names": [(p, TRANSPORT_NAMES[p]) for p in experiment.panes],
        "replay_size": conf("PLAYGROUND_REPLAY_SIZE"),
    }


@login_required
@require_GET
def experiment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = _experiment_or_404(slug)
    prediction = None
    raw = request.GET.get("prediction", "")
    if raw.isdigit() and len(raw) < 12:
        prediction = selectors.prediction_get(
            user=request.user, experiment=experiment, prediction_id=int(raw)
        )
    return render(
        request, "playground/experiment_detail.html", _detail_context(request, experiment, prediction)
    )


@login_required
@require_POST
def experiment_predict(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = _experiment_or_404(slug)
    try:
        prediction = services.prediction_record(
            user=request.user, experiment=experiment, choice=request.POST.get("choice", "")
        )
    except ValidationError as exc:
        context = _detail_context(request, experiment)
        context["predict_error"] = exc.messages[0]
        template = "playground/experiment_detail.html"
        if getattr(request, "htmx", False):
            template += "#predict-card"
        return render(request, template, context, status=400)
    if getattr(request, "htmx", False):
        return render(
            request,
            "playground/experiment_detail.html#predict-card",
            _detail_context(request, experiment, prediction),
        )
    return redirect(f"{reverse('playground:experiment-detail', args=[slug])}?prediction={prediction.pk}#run")


@login_required
@require_POST
def experiment_run_create(request: HttpRequest, slug: str) -> HttpResponse:
    """The page module posts the measured result table as JSON; the answer is the result partial."""
    experiment = _experiment_or_404(slug)
    if len(request.body) > MAX_RESULTS_BYTES:
        return JsonResponse({"error": "too_large", "message": "results are at most 16 KiB"}, status=413)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "bad_json", "message": "send a JSON object"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "bad_json", "message": "send a JSON object"}, status=400)
    prediction = None
    pid = payload.get("prediction")
    if pid is not None:
        if not isinstance(pid, int) or isinstance(pid, bool):
            return JsonResponse({"error": "invalid", "message": "prediction must be an id"}, status=400)
        prediction = selectors.prediction_get(user=request.user, experiment=experiment, prediction_id=pid)
        if prediction is None:
            return JsonResponse({"error": "not_found", "message": "no such prediction of yours"}, status=404)
    try:
        run = services.experiment_run_record(
            user=request.user, experiment=experiment, prediction=prediction, results=payload.get("results")
        )
    except ValidationError as exc:
        return JsonResponse({"error": "invalid", "message": exc.messages[0]}, status=400)
    context = {
        "experiment": experiment,
        "run": run,
        "rows": [(TRANSPORT_NAMES[t], run.results[t]) for t in experiment.panes],
        "explanation": explanation_for(experiment, run.results),
        "prediction": prediction,
        "predicted_text": experiment.choice_text(prediction.choice) if prediction else "",
        "answer_text": experiment.choice_text(experiment.answer),
    }
    return render(request, "playground/experiment_detail.html#result", context, status=201)


@login_required
@require_POST
def experiment_assign(request: HttpRequest, slug: str) -> HttpResponse:
    """An instructor points one of their cohorts at the experiment (an announcement with its link)."""
    experiment = _experiment_or_404(slug)
    raw = request.POST.get("cohort", "")
    cohorts = {str(c.pk): c for c in selectors.cohorts_taught_by(user=request.user)}
    cohort = cohorts.get(raw)
    if cohort is None:
        raise Http404("no such cohort of yours")
    url = request.build_absolute_uri(reverse("playground:experiment-detail", args=[slug]))
    note = request.POST.get("note", "").strip()[:1000]
    body = f"{experiment.summary}\n\nPredict the outcome, then run it: {url}"
    if note:
        body = f"{note}\n\n{body}"
    cohort_services.announcement_post(
        cohort=cohort, author=request.user, title=f"Experiment: {experiment.title}"[:160], body=body
    )
    messages.success(request, f"“{cohort.name}” was pointed at this experiment.")
    return redirect("playground:experiment-detail", slug=slug)
