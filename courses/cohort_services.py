"""Cohort writes: cohorts, invitations, membership, announcements, messages, presence.

Kept apart from courses/services.py (lesson progress) so the two features evolve independently.
"""

import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses import events
from courses.models import Announcement, Cohort, CohortInvite, CohortMembership, Course, LearnerConnection

Role = CohortMembership.Role

#: A learner socket not seen for this long no longer counts as online (heartbeat every 25 s).
PRESENCE_TIMEOUT = timedelta(seconds=70)


class InviteUnavailable(Exception):
    """The invite exists but can no longer be used (state: "expired" or "revoked")."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@transaction.atomic
def cohort_create(
    *,
    created_by,
    name: str,
    course: Course,
    starts_on: date | None = None,
    ends_on: date | None = None,
    weekly_target_kind: str = Cohort.TargetKind.LESSONS,
    weekly_target: int = 3,
) -> Cohort:
    cohort = Cohort(
        name=name,
        course=course,
        starts_on=starts_on,
        ends_on=ends_on,
        weekly_target_kind=weekly_target_kind,
        weekly_target=weekly_target,
        created_by=created_by,
    )
    cohort.full_clean()
    cohort.save()
    CohortMembership.objects.create(
        cohort=cohort, user=created_by, role=Role.INSTRUCTOR, joined_at=timezone.now()
    )
    return cohort


@transaction.atomic
def cohort_update(*, cohort: Cohort, **fields) -> Cohort:
    allowed = {"name", "starts_on", "ends_on", "weekly_target_kind", "weekly_target"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    for key, value in fields.items():
        setattr(cohort, key, value)
    cohort.full_clean()
    cohort.save(update_fields=sorted(fields))
    return cohort


def invite_create(
    *, cohort: Cohort, created_by, role: str = Role.LEARNER, expires_at: datetime | None = None
) -> CohortInvite:
    if role not in Role.values:
        raise ValidationError("Unknown role.")
    invite = CohortInvite(
        cohort=cohort,
        created_by=created_by,
        role=role,
        expires_at=expires_at,
        code=secrets.token_urlsafe(12),
    )
    invite.full_clean()
    invite.save()
    return invite


def invite_revoke(*, invite: CohortInvite) -> CohortInvite:
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


@transaction.atomic
def cohort_join(*, invite: CohortInvite, user) -> tuple[CohortMembership, bool]:
    """Join through an invite. Returns (membership, joined_now); joining twice changes nothing."""
    now = timezone.now()
    state = invite.state(now)
    if state != "active":
        raise InviteUnavailable(state)
    membership = CohortMembership.objects.select_for_update().filter(cohort=invite.cohort, user=user).first()
    if membership is None:
        try:
            with transaction.atomic():
                membership = CohortMembership.objects.create(
                    cohort=invite.cohort, user=user, role=invite.role, invite=invite, joined_at=now
                )
        except IntegrityError:  # a concurrent join won the race: same outcome
            return CohortMembership.objects.get(cohort=invite.cohort, user=user), False
        events.publish_cohort_roster(cohort_id=invite.cohort_id, user_id=user.pk)
        return membership, True
    if membership.removal == CohortMembership.Removal.REMOVED:
        raise ValidationError("An instructor removed you from this cohort. Ask them to add you again.")
    changed = []
    if membership.removed_at is not None:  # they left earlier: welcome back
        membership.removed_at, membership.removal, membership.joined_at = None, "", now
        membership.invite = invite
        changed += ["removed_at", "removal", "joined_at", "invite"]
    if invite.role == Role.INSTRUCTOR and membership.role != Role.INSTRUCTOR:
        membership.role = Role.INSTRUCTOR
        changed.append("role")
    if changed:
        membership.save(update_fields=changed)
        events.publish_cohort_roster(cohort_id=invite.cohort_id, user_id=user.pk)
    return membership, bool(changed)


def _active_instructor_count(cohort: Cohort) -> int:
    return cohort.memberships.filter(role=Role.INSTRUCTOR, removed_at__isnull=True).count()


@transaction.atomic
def membership_leave(*, membership: CohortMembership) -> CohortMembership:
    if membership.removed_at is not None:
        return membership
    if membership.role == Role.INSTRUCTOR and _active_instructor_count(membership.cohort) <= 1:
        raise ValidationError("You are this cohort's only instructor: invite another one before leaving.")
    membership.removed_at = timezone.now()
    membership.removal = CohortMembership.Removal.LEFT
    membership.save(update_fields=["removed_at", "removal"])
    events.publish_cohort_roster(cohort_id=membership.cohort_id, user_id=membership.user_id)
    return membership


@transaction.atomic
def learner_remove(*, membership: CohortMembership) -> CohortMembership:
    """Remove a learner from the cohort. Their own progress, answers and attempts are untouched."""
    if membership.role != Role.LEARNER:
        raise ValidationError("Only learners can be removed here.")
    if membership.removed_at is None or membership.removal != CohortMembership.Removal.REMOVED:
        membership.removed_at = membership.removed_at or timezone.now()
        membership.removal = CohortMembership.Removal.REMOVED
        membership.save(update_fields=["removed_at", "removal"])
        events.publish_cohort_roster(cohort_id=membership.cohort_id, user_id=membership.user_id)
    return membership


@transaction.atomic
def learner_restore(*, membership: CohortMembership) -> CohortMembership:
    if membership.role == Role.LEARNER and membership.removed_at is not None:
        membership.removed_at, membership.removal = None, ""
        membership.save(update_fields=["removed_at", "removal"])
        events.publish_cohort_roster(cohort_id=membership.cohort_id, user_id=membership.user_id)
    return membership


@transaction.atomic
def announcement_post(
    *, cohort: Cohort, author, title: str, body: str, recipient_ids: Iterable[int] | None = None
) -> Announcement:
    """Post to the whole cohort, or only to the given learners of it. Online learners get it live
    after commit; the others see it, marked unread, on their next visit."""
    announcement = Announcement(
        cohort=cohort,
        author=author,
        title=title.strip(),
        body=body.strip(),
        to_everyone=recipient_ids is None,
        created_at=timezone.now(),
    )
    announcement.full_clean()
    announcement.save()
    ids: list[int] = []
    if recipient_ids is not None:
        ids = _active_learner_ids(cohort, recipient_ids)
        if not ids:
            raise ValidationError("Choose at least one learner of this cohort.")
        announcement.recipients.set(ids)
    events.publish_announcement(
        announcement=announcement, recipient_ids=None if announcement.to_everyone else ids
    )
    return announcement


def _active_learner_ids(cohort: Cohort, user_ids: Iterable[int]) -> list[int]:
    wanted = {int(pk) for pk in user_ids}
    return sorted(
        cohort.memberships.filter(role=Role.LEARNER, removed_at__isnull=True, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )


def announcements_mark_seen(*, membership: CohortMembership) -> None:
    membership.announcements_seen_at = timezone.now()
    membership.save(update_fields=["announcements_seen_at"])


def learners_email(*, cohort: Cohort, sender, recipient_ids: Iterable[int], subject: str, body: str) -> int:
    """E-mail chosen active learners of the cohort, one message each (no addresses leak). Returns the count."""
    ids = _active_learner_ids(cohort, recipient_ids)
    if not ids:
        raise ValidationError("Choose at least one learner of this cohort.")
    from accounts.models import User

    reply_to = f"\n\n— {sender.name}, {cohort.name}"
    messages = [
        (subject.strip(), body.strip() + reply_to, settings.DEFAULT_FROM_EMAIL, [email])
        for email in User.objects.filter(pk__in=ids).exclude(email="").values_list("email", flat=True)
    ]
    return send_mass_mail(messages, fail_silently=False) if messages else 0


# --- Presence (learner sockets) ----------------------------------------------------------------


def learner_connection_open(*, user_id: int, channel_name: str) -> None:
    now = timezone.now()
    LearnerConnection.objects.filter(
        last_seen_at__lt=now - PRESENCE_TIMEOUT * 10
    ).delete()  # crashed processes
    LearnerConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"user_id": user_id, "connected_at": now, "last_seen_at": now}
    )
    events.publish_presence(user_id=user_id)


def learner_connection_touch(*, channel_name: str) -> None:
    LearnerConnection.objects.filter(channel_name=channel_name).update(last_seen_at=timezone.now())


def learner_connection_close(*, user_id: int, channel_name: str) -> None:
    LearnerConnection.objects.filter(channel_name=channel_name).delete()
    events.publish_presence(user_id=user_id)
