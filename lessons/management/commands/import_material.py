from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lessons.services import MaterialError, material_import


class Command(BaseCommand):
    help = "Import a topic file (course material) into lessons; safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", type=Path, help="a topic file, e.g. courses/material/communication-protocols.txt"
        )
        parser.add_argument("--course", dest="course_slug", help="add the topic to this course (slug)")

    def handle(self, *args, path: Path, course_slug: str | None, **options) -> None:
        try:
            result = material_import(path=path, course_slug=course_slug)
        except MaterialError as exc:
            raise CommandError(str(exc)) from None
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f'Imported "{result.topic.title}" ({result.topic.key}) into course {result.course.slug}'
            )
        )
        self.stdout.write(
            f"  {counts['lessons']} lessons, {counts['sections']} sections, {counts['diagrams']} diagrams, "
            f"{counts['objectives']} objectives, {counts['key_areas']} key areas, "
            f"{counts['interview_levels']} interview levels, {counts['questions']} questions, "
            f"{counts['red_flags']} red flags, {counts['takeaways']} takeaways"
        )
        changed = ", ".join(
            f"{name.replace('_', ' ')}: {n}" for name, n in sorted(result.changes.items()) if n
        )
        self.stdout.write(f"  changes: {changed or 'none (already up to date)'}")
