"""Reads for guided experiments, including the learner's "predict" questions for their history."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from playground.experiments import EXPERIMENTS, Experiment
from playground.models import ExperimentRun, PredictionAnswer


@dataclass(frozen=True)
class ExperimentRow:
    experiment: Experiment
    runs: int
    predictions: int
    correct: int


def experiment_list_for_user(*, user) -> list[ExperimentRow]:
    """Every experiment with the learner's run and prediction counts (two queries)."""
    runs: dict[str, int] = {}
    preds: dict[str, tuple[int, int]] = {}
    if user.is_authenticated:
        runs = dict(
            ExperimentRun.objects.filter(user=user)
            .order_by()
            .values_list("experiment")
            .annotate(n=Count("pk"))
        )
        preds = {
            slug: (n, c)
            for slug, n, c in PredictionAnswer.objects.filter(user=user)
            .order_by()
            .values_list("experiment")
            .annotate(n=Count("pk"), c=Count("pk", filter=Q(is_correct=True)))
        }
    return [ExperimentRow(e, runs.get(e.slug, 0), *preds.get(e.slug, (0, 0))) for e in EXPERIMENTS]


def prediction_history(*, user, limit: int = 50) -> list[PredictionAnswer]:
    """The learner's practice questions of type "predict", newest first (for their history)."""
    return list(PredictionAnswer.objects.filter(user=user)[:limit])


def run_list_for_user(*, user, experiment: Experiment, limit: int = 5) -> list[ExperimentRun]:
    return list(
        ExperimentRun.objects.filter(user=user, experiment=experiment.slug).select_related("prediction")[
            :limit
        ]
    )


def prediction_get(*, user, experiment: Experiment, prediction_id: int) -> PredictionAnswer | None:
    return PredictionAnswer.objects.filter(user=user, experiment=experiment.slug, pk=prediction_id).first()


def section_links(*, experiment: Experiment) -> list[dict[str, str]]:
    """Links to the lesson sections the experiment illustrates (one query; missing ones are left out)."""
    from lessons.models import Section

    wanted = set(experiment.sections)
    rows = Section.objects.filter(anchor__in=[a for _, a in wanted]).select_related("lesson__course")
    found = {(s.lesson.slug, s.anchor): s for s in rows}
    return [
        {
            "url": found[key].get_absolute_url(),
            "heading": found[key].heading,
            "lesson": found[key].lesson.title,
        }
        for key in experiment.sections
        if key in found
    ]


def cohorts_taught_by(*, user) -> list:
    from courses.models import Cohort

    if not user.is_authenticated:
        return []
    return list(Cohort.objects.taught_by(user).order_by("name").distinct())


@dataclass(frozen=True)
class PredictionSummary:
    answered: int
    correct: int
    runs: int
    recent: list[PredictionAnswer]


def prediction_summary(*, user, recent: int = 5) -> PredictionSummary:
    """The learner's "predict" practice questions and runs, for their history (three queries)."""
    counts = PredictionAnswer.objects.filter(user=user).aggregate(
        answered=Count("pk"), correct=Count("pk", filter=Q(is_correct=True))
    )
    return PredictionSummary(
        answered=counts["answered"],
        correct=counts["correct"],
        runs=ExperimentRun.objects.filter(user=user).count(),
        recent=list(PredictionAnswer.objects.filter(user=user)[:recent]),
    )
