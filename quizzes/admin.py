"""Instructors edit and add questions here. Bank files stay the source of truth for bank questions:
`import_questions` overwrites a bank question (origin "bank") with its file's version."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from lessons.models import Section
from quizzes.models import Answer, Attempt, AttemptQuestion, PracticeSession, Question, ReviewCard
from quizzes.validation import ID_RE, SOURCE_RE


class PrettyJSONField(forms.JSONField):
    """Indented JSON in a monospace textarea, so options and rubrics are editable by hand."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


def _json_widget(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "cols": 90, "class": "vLargeTextField", "spellcheck": "false"})


class QuestionAdminForm(forms.ModelForm):
    data = PrettyJSONField(
        required=False,
        widget=_json_widget(10),
        help_text='Visible before answering. Choice types: {"options": {"a": "...", "b": "..."}}; ordering: '
        '{"items": {...}}; matching: {"left": {...}, "right": {...}}; free response: {}.',
    )
    answer = PrettyJSONField(
        required=False,
        widget=_json_widget(4),
        help_text='Single/scenario/red flag: "b"; multiple: ["a", "c"]; ordering: ids in order; '
        'matching: {"1": "a", ...}; free response: null.',
    )
    rubric = PrettyJSONField(
        required=False, widget=_json_widget(6), help_text="Free response: a list of checkable points."
    )

    class Meta:
        model = Question
        fields = (
            "key",
            "level",
            "type",
            "is_active",
            "origin",
            "position",
            "prompt",
            "context",
            "data",
            "answer",
            "explanation",
            "model_answer",
            "rubric",
            "source",
            "section",
            "key_areas",
        )

    def clean(self):
        cleaned = super().clean()
        key, level, source = cleaned.get("key"), cleaned.get("level"), cleaned.get("source")
        if key and level and ID_RE.match(key) and not key.startswith(f"{level}-"):
            self.add_error("key", f'A {level} question id starts with "{level}-".')
        if source:
            if not SOURCE_RE.match(source):
                self.add_error("source", 'Write it as "<lesson-slug>#<section-anchor>".')
            elif not cleaned.get("section"):
                lesson_slug, anchor = source.split("#")
                section = Section.objects.filter(lesson__slug=lesson_slug, anchor=anchor).first()
                if section is None:
                    self.add_error("source", "No lesson section has that lesson slug and anchor.")
                cleaned["section"] = section
        if cleaned.get("rubric") is None:
            cleaned["rubric"] = []
        if cleaned.get("data") is None:
            cleaned["data"] = {}
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if self.cleaned_data.get("section") is not None:
            self.instance.section = self.cleaned_data["section"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionAdminForm
    list_display = ("key", "level", "type", "short_prompt", "is_active", "origin", "updated_at")
    list_filter = ("level", "type", "key_areas", "is_active", "origin")
    search_fields = ("key", "prompt", "context", "explanation")
    list_select_related = ("section",)
    filter_horizontal = ("key_areas",)
    ordering = ("level", "position", "key")
    readonly_fields = ("updated_at",)
    actions = ("deactivate", "activate")
    fieldsets = (
        (None, {"fields": ("key", "level", "type", "is_active", "origin", "position", "updated_at")}),
        ("Shown before answering", {"fields": ("prompt", "context", "data")}),
        ("Key (shown after answering)", {"fields": ("answer", "explanation", "model_answer", "rubric")}),
        ("Links", {"fields": ("source", "section", "key_areas")}),
    )

    @admin.display(description="Prompt")
    def short_prompt(self, obj: Question) -> str:
        return obj.prompt if len(obj.prompt) <= 80 else obj.prompt[:79] + "…"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["queryset"] = Section.objects.select_related("lesson").order_by(
                "lesson__position", "position"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description="Deactivate (hide from practice and new mock interviews)")
    def deactivate(self, request, queryset):
        queryset.update(is_active=False)

    @admin.action(description="Activate")
    def activate(self, request, queryset):
        queryset.update(is_active=True)

    def save_model(self, request, obj, form, change):
        if not change and not obj.origin:
            obj.origin = Question.Origin.ADMIN
        try:
            obj.full_clean()
        except ValidationError as exc:  # pragma: no cover - the form already ran clean()
            form.add_error(None, exc)
            return
        super().save_model(request, obj, form, change)


class AttemptQuestionInline(admin.TabularInline):
    model = AttemptQuestion
    extra = 0
    readonly_fields = ("question", "position")
    can_delete = False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "user",
        "level",
        "started_at",
        "deadline",
        "submitted_at",
        "auto_submitted",
        "score",
    )
    list_filter = ("level", "auto_submitted")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    readonly_fields = ("user", "level", "started_at", "submitted_at", "auto_submitted", "score")
    inlines = (AttemptQuestionInline,)


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "question", "mode", "is_correct", "score", "answered_at")
    list_filter = ("mode", "is_correct", "question__level", "question__type")
    search_fields = ("user__username", "question__key")
    list_select_related = ("user", "question")
    readonly_fields = ("user", "question", "attempt", "practice_session", "mode", "response", "answered_at")


@admin.register(ReviewCard)
class ReviewCardAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "state", "due", "reps", "lapses")
    list_filter = ("state", "question__level")
    search_fields = ("user__username", "question__key")
    list_select_related = ("user", "question")


@admin.register(PracticeSession)
class PracticeSessionAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "level", "started_at", "position", "finished_at")
    list_filter = ("level",)
    list_select_related = ("user",)
