from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Handshake's user. Roles are per cohort (courses.CohortMembership), not global flags."""

    display_name = models.CharField(max_length=80, blank=True)

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username
