"""Guided experiment history: predictions (practice questions of type "predict") and runs."""

from django.conf import settings
from django.db import models


class PredictionAnswer(models.Model):
    """A learner's prediction before running an experiment: a practice question of type "predict"."""

    QUESTION_TYPE = "predict"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions")
    experiment = models.SlugField(max_length=80)
    choice = models.SlugField(max_length=40)
    is_correct = models.BooleanField()
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["-answered_at", "-pk"]
        indexes = [models.Index(fields=["user", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.user} · predict · {self.experiment}"


class ExperimentRun(models.Model):
    """One run of a guided experiment with the result table the learner's browser measured."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="experiment_runs"
    )
    experiment = models.SlugField(max_length=80)
    prediction = models.ForeignKey(
        PredictionAnswer, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    results = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} · {self.experiment} · {self.created_at:%Y-%m-%d %H:%M}"
