"""Admin views of imported content. Content changes go through the topic files and import_material."""

from django.contrib import admin

from lessons.models import KeyArea, Lesson, Section, Topic


class ReadOnlyContentAdmin(admin.ModelAdmin):
    """Imported rows are rebuilt by each import: edits here would be overwritten, so they are read-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Topic)
class TopicAdmin(ReadOnlyContentAdmin):
    list_display = ["title", "key", "course", "position", "imported_at"]
    list_filter = ["course"]
    search_fields = ["title", "key"]


@admin.register(Lesson)
class LessonAdmin(ReadOnlyContentAdmin):
    list_display = ["title", "slug", "topic", "kind", "position", "reading_minutes"]
    list_filter = ["course", "kind"]
    search_fields = ["title", "slug"]
    list_select_related = ["topic"]


@admin.register(Section)
class SectionAdmin(ReadOnlyContentAdmin):
    list_display = ["heading", "anchor", "lesson", "kind", "position"]
    list_filter = ["kind", "topic"]
    search_fields = ["heading", "anchor", "plain_text"]
    list_select_related = ["lesson"]


@admin.register(KeyArea)
class KeyAreaAdmin(ReadOnlyContentAdmin):
    list_display = ["name", "slug", "topic", "position"]
    list_select_related = ["topic"]
