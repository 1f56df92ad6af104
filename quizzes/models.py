"""Question banks, answers, practice sessions, timed mock interviews and FSRS review cards.

A question's `data` is what a learner may see before answering (options, items, matching columns);
`answer`, `explanation`, `model_answer` and `rubric` are the key, shown only after answering.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Level(models.TextChoices):
    MID = "mid", "Mid-level"
    SENIOR = "senior", "Senior"
    STAFF = "staff", "Staff+"


class QuestionType(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    ORDERING = "ordering", "Ordering"
    MATCHING = "matching", "Matching"
    SCENARIO = "scenario", "Scenario"
    RED_FLAG = "red_flag", "Spot the red flag"
    FREE = "free", "Free response"


CHOICE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.SCENARIO, QuestionType.RED_FLAG})


class QuestionQuerySet(models.QuerySet["Question"]):
    def active(self) -> "QuestionQuerySet":
        return self.filter(is_active=True)

    def for_level(self, level: str) -> "QuestionQuerySet":
        return self.filter(level=level)


class Question(models.Model):
    class Origin(models.TextChoices):
        BANK = "bank", "Bank file"
        ADMIN = "admin", "Added in the admin"

    key = models.SlugField(
        max_length=40, unique=True, help_text='Stable id, e.g. "mid-001". Bank imports update by this id.'
    )
    level = models.CharField(max_length=10, choices=Level.choices, db_index=True)
    type = models.CharField(max_length=12, choices=QuestionType.choices)
    prompt = models.TextField()
    context = models.TextField(
        blank=True, help_text="Scenario: the system description. Spot the red flag: the candidate's answer."
    )
    data = models.JSONField(
        default=dict,
        blank=True,
        help_text='Shown before answering: {"options": {...}} or {"items": {...}} or {"left": {...}, "right": {...}}.',
    )
    answer = models.JSONField(
        null=True, blank=True, help_text="The key: an option id, a list of ids, or a left→right mapping."
    )
    explanation = models.TextField()
    model_answer = models.TextField(blank=True)
    rubric = models.JSONField(default=list, blank=True, help_text="Checkable points (free response).")
    source = models.CharField(max_length=250, help_text='"<lesson-slug>#<section-anchor>"')
    section = models.ForeignKey(
        "lessons.Section", on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    key_areas = models.ManyToManyField("lessons.KeyArea", related_name="questions", blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ADMIN)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["level", "position", "key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.prompt[:60]}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from quizzes.validation import BankError, validate_key

        try:
            validate_key(
                type_=self.type,
                data=self.data,
                answer=self.answer,
                model_answer=self.model_answer,
                rubric=self.rubric,
            )
        except BankError as exc:
            raise ValidationError(str(exc)) from exc

    @property
    def is_self_graded(self) -> bool:
        return self.type == QuestionType.FREE


class PracticeSession(models.Model):
    """A run of practice questions: the order is fixed at start, `position` is the next one to show."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_sessions"
    )
    level = models.CharField(max_length=10, choices=Level.choices)
    key_areas = models.ManyToManyField("lessons.KeyArea", blank=True, related_name="+")
    question_ids = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Practice {self.pk} ({self.level}) for {self.user}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None or self.position >= len(self.question_ids)


class Attempt(models.Model):
    """A timed mock interview. The server owns the clock: `deadline` decides what counts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    level = models.CharField(max_length=10, choices=Level.choices)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    auto_submitted = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True, help_text="0..1 over all questions once submitted.")
    questions = models.ManyToManyField(Question, through="AttemptQuestion", related_name="+")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(submitted_at__isnull=True), name="one_open_attempt_per_user"
            ),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="attempt_score_0_1"),
        ]

    def __str__(self) -> str:
        return f"Mock interview {self.pk} ({self.level}) for {self.user}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class AttemptQuestion(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="slots")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="unique_question_per_attempt"),
            models.UniqueConstraint(fields=["attempt", "position"], name="unique_position_per_attempt"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.attempt_id} #{self.position}"


class Answer(models.Model):
    class Mode(models.TextChoices):
        PRACTICE = "practice", "Practice"
        MOCK = "mock", "Mock interview"
        REVIEW = "review", "Spaced review"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    attempt = models.ForeignKey(
        Attempt, on_delete=models.CASCADE, null=True, blank=True, related_name="answers"
    )
    practice_session = models.ForeignKey(
        PracticeSession, on_delete=models.CASCADE, null=True, blank=True, related_name="answers"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices)
    response = models.JSONField(default=dict)
    is_correct = models.BooleanField(
        null=True, blank=True, help_text="Empty until a free response is self-graded."
    )
    score = models.FloatField(null=True, blank=True, help_text="0..1; empty until self-graded.")
    answered_at = models.DateTimeField()
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["answered_at"]
        indexes = [models.Index(fields=["user", "answered_at"])]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="one_answer_per_attempt_question"),
            models.UniqueConstraint(
                fields=["practice_session", "question"], name="one_answer_per_practice_question"
            ),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="answer_score_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.question.key} · {self.mode}"

    @property
    def is_graded(self) -> bool:
        return self.score is not None


class ReviewCard(models.Model):
    """FSRS state for one learner and question (fields mirror fsrs.Card)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_cards")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="review_cards")
    state = models.PositiveSmallIntegerField(default=1)  # fsrs.State: 1 learning, 2 review, 3 relearning
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField(db_index=True)
    last_review = models.DateTimeField(null=True, blank=True)
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due"]
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="one_review_card_per_question")
        ]
        indexes = [models.Index(fields=["user", "due"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.question.key} due {self.due:%Y-%m-%d %H:%M}"
