from django.conf import settings
from django.db import models
from django.urls import reverse


class Course(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:course-detail", kwargs={"course_slug": self.slug})


class LessonProgressQuerySet(models.QuerySet["LessonProgress"]):
    def completed(self) -> "LessonProgressQuerySet":
        return self.filter(completed_at__isnull=False)

    def for_user(self, user) -> "LessonProgressQuerySet":
        return self.filter(user=user)


class LessonProgress(models.Model):
    """One row per learner and lesson they opened; completed_at marks it done."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey("lessons.Lesson", on_delete=models.CASCADE, related_name="progress")
    first_viewed_at = models.DateTimeField()
    last_viewed_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = LessonProgressQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson"], name="unique_lesson_progress")]
        verbose_name_plural = "lesson progress"

    def __str__(self) -> str:
        return f"{self.user} · {self.lesson}"


# --- Cohorts -----------------------------------------------------------------------------------


class CohortQuerySet(models.QuerySet["Cohort"]):
    def taught_by(self, user) -> "CohortQuerySet":
        return self.filter(
            memberships__user=user,
            memberships__role=CohortMembership.Role.INSTRUCTOR,
            memberships__removed_at__isnull=True,
        )

    def learned_by(self, user) -> "CohortQuerySet":
        return self.filter(
            memberships__user=user,
            memberships__role=CohortMembership.Role.LEARNER,
            memberships__removed_at__isnull=True,
        )


class Cohort(models.Model):
    """A group of learners following one course, taught by one or more instructors."""

    class TargetKind(models.TextChoices):
        LESSONS = "lessons", "Lessons completed"
        REVIEW_MINUTES = "review_minutes", "Review minutes"

    name = models.CharField(max_length=120)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="cohorts")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    weekly_target_kind = models.CharField(
        max_length=20, choices=TargetKind.choices, default=TargetKind.LESSONS
    )
    weekly_target = models.PositiveSmallIntegerField(
        default=3, help_text="Lessons to complete, or minutes of review, per week."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            ),
            models.CheckConstraint(condition=models.Q(weekly_target__lte=1000), name="cohort_target_sane"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("courses:cohort-dashboard", kwargs={"cohort_id": self.pk})


class CohortMembership(models.Model):
    """A user's role in one cohort. Removal or leaving sets removed_at: the row (and the learner's
    own progress, answers and attempts, which never hang off the cohort) is kept."""

    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", "Instructor"
        LEARNER = "learner", "Learner"

    class Removal(models.TextChoices):
        LEFT = "left", "Left the cohort"
        REMOVED = "removed", "Removed by an instructor"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohort_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.LEARNER)
    invite = models.ForeignKey(
        "CohortInvite", on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships"
    )
    joined_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removal = models.CharField(max_length=10, choices=Removal.choices, blank=True)
    announcements_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cohort", "user"], name="unique_cohort_member")]
        indexes = [models.Index(fields=["user", "role", "removed_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.cohort} ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class CohortInvite(models.Model):
    """A join link: /cohorts/join/<code>/. It may expire and can be revoked."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=32, unique=True)
    role = models.CharField(
        max_length=20, choices=CohortMembership.Role.choices, default=CohortMembership.Role.LEARNER
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.cohort} invite {self.code}"

    def get_absolute_url(self) -> str:
        return reverse("courses:cohort-join", kwargs={"code": self.code})

    def state(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class Announcement(models.Model):
    """An instructor's message to a cohort, or to chosen learners of it (e.g. the at-risk list)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="announcements")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(max_length=160)
    body = models.TextField(max_length=5000)
    to_everyone = models.BooleanField(default=True)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class LearnerConnection(models.Model):
    """One open learner socket; presence ("online now") is any row seen recently. Rows live in the
    database so that every Daphne process sees the same presence."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.channel_name}"
