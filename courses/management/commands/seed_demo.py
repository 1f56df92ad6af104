from django.core.management.base import BaseCommand, CommandError

from courses.demo import DEMO_PASSWORD, DemoRefused, demo_seed


class Command(BaseCommand):
    help = (
        "Create demo users (instructor / learner, password 'handshake') and a demo cohort of 30 learners with "
        "six weeks of activity. Idempotent; refused under production settings."
    )

    def handle(self, *args, **options) -> None:
        try:
            summary = demo_seed()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(summary))
        self.stdout.write(f"Demo log-ins: instructor / {DEMO_PASSWORD}, learner / {DEMO_PASSWORD}")
