"""Writes for guided experiments: a prediction, then a run with its measured results."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from courses import events as course_events
from playground.experiments import METRICS, TRANSPORT_NAMES, Experiment
from playground.models import ExperimentRun, PredictionAnswer

MAX_METRIC = 10**9


@transaction.atomic
def prediction_record(*, user, experiment: Experiment, choice: str) -> PredictionAnswer:
    if choice not in dict(experiment.choices):
        raise ValidationError("Choose one of the answers.")
    prediction = PredictionAnswer(
        user=user,
        experiment=experiment.slug,
        choice=choice,
        is_correct=choice == experiment.answer,
        answered_at=timezone.now(),
    )
    prediction.full_clean()
    prediction.save()
    course_events.publish_learner_activity(user_id=user.pk, kind="question_answered")
    return prediction


def results_clean(*, experiment: Experiment, results: Any) -> dict[str, dict[str, float | int | None]]:
    """Only the experiment's panes and known metrics, each a finite number in range (or null)."""
    if not isinstance(results, dict):
        raise ValidationError("results must be an object keyed by transport")
    unknown = set(results) - set(experiment.panes)
    if unknown:
        raise ValidationError(f"unknown transport(s): {', '.join(sorted(map(str, unknown)))}")
    clean: dict[str, dict[str, float | int | None]] = {}
    for transport in experiment.panes:
        row = results.get(transport)
        if not isinstance(row, dict):
            raise ValidationError(f"results for {TRANSPORT_NAMES[transport]} are missing")
        extra = set(row) - set(METRICS)
        if extra:
            raise ValidationError(f"unknown metric(s): {', '.join(sorted(map(str, extra)))}")
        out: dict[str, float | int | None] = {}
        for name in METRICS:
            value = row.get(name)
            if value is None:
                out[name] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValidationError(f"{name} must be a number")
            if not 0 <= value <= MAX_METRIC:
                raise ValidationError(f"{name} is out of range")
            out[name] = round(value) if isinstance(value, float) and name != "rtt_ms" else value
        clean[transport] = out
    return clean


@transaction.atomic
def experiment_run_record(
    *, user, experiment: Experiment, prediction: PredictionAnswer | None, results: Any
) -> ExperimentRun:
    if prediction is not None and (prediction.user_id != user.pk or prediction.experiment != experiment.slug):
        raise ValidationError("That prediction belongs to another experiment.")
    run = ExperimentRun(
        user=user,
        experiment=experiment.slug,
        prediction=prediction,
        results=results_clean(experiment=experiment, results=results),
        created_at=timezone.now(),
    )
    run.full_clean()
    run.save()
    course_events.publish_learner_activity(user_id=user.pk, kind="experiment_run")
    return run
