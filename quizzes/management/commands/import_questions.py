from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from quizzes.services import bank_paths_default, question_import
from quizzes.validation import BankError


class Command(BaseCommand):
    help = "Import question bank files (default: every quizzes/banks/*.json). All or nothing; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="bank files (default: all bank files)")

    def handle(self, *args, paths: list[Path], **options) -> None:
        paths = paths or bank_paths_default()
        try:
            result = question_import(paths=paths)
        except BankError as exc:
            raise CommandError(
                f"{len(exc.errors)} problem(s), nothing imported:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Questions from {len(paths)} file(s): {result.summary()}"))
