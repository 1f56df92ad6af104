from django.db import models
from django.urls import reverse


class Topic(models.Model):
    """One imported topic file. `key` is the file's stem; other topics' text refers to it by that key."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="topics")
    key = models.SlugField(max_length=120, unique=True)
    slug = models.SlugField(max_length=200)
    title = models.CharField(max_length=200)
    objectives = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    source_sha256 = models.CharField(max_length=64, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "position", "title"]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    class Kind(models.TextChoices):
        OVERVIEW = "overview", "Overview"
        READING = "reading", "Reading"
        KEY_AREA = "key_area", "Key area"
        DECISION_TREE = "decision_tree", "Decision tree"
        INTERVIEW = "interview", "Interview essentials"
        QUESTIONS = "questions", "Questions and red flags"
        TAKEAWAYS = "takeaways", "Takeaways"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="lessons")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=200)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.READING)
    position = models.PositiveIntegerField(default=0)
    reading_minutes = models.PositiveIntegerField(default=1)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["course", "topic__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="unique_lesson_slug_per_course")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "lessons:lesson-detail", kwargs={"course_slug": self.course.slug, "lesson_slug": self.slug}
        )


class Section(models.Model):
    class Kind(models.TextChoices):
        OBJECTIVES = "objectives", "Objectives"
        PROSE = "prose", "Prose"
        CHEAT_SHEET = "cheat_sheet", "Cheat sheet"
        DIAGRAM = "diagram", "Diagram"
        KEY_AREA = "key_area", "Key area"
        LEVEL = "level", "Interview level"
        QUESTION = "question", "Interview question"
        RED_FLAG = "red_flag", "Red flag"
        TAKEAWAY = "takeaway", "Takeaway"
        GROUP = "group", "Group heading"

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="sections")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="sections")
    anchor = models.SlugField(max_length=200)
    heading = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PROSE)
    position = models.PositiveIntegerField(default=0)
    source = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # sanitised with nh3 at import; the only field that meets |safe
    plain_text = models.TextField(blank=True)  # for search
    # Diagrams: mermaid source, caption and a text alternative; the SVG is drawn from the source.
    diagram_source = models.TextField(blank=True)
    caption = models.TextField(blank=True)
    alt_text = models.TextField(blank=True)

    class Meta:
        ordering = ["lesson", "position"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "anchor"], name="unique_section_anchor_per_topic")
        ]

    def __str__(self) -> str:
        return self.heading

    def get_absolute_url(self) -> str:
        return f"{self.lesson.get_absolute_url()}#{self.anchor}"


class KeyArea(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="key_areas")
    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="key_area")
    slug = models.SlugField(max_length=200)
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["topic", "position"]
        constraints = [models.UniqueConstraint(fields=["topic", "slug"], name="unique_key_area_per_topic")]

    def __str__(self) -> str:
        return self.name
