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
