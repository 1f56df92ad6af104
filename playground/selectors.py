"""Reads for the playground page (the only ORM in the app: the page view, never a stream path)."""

from __future__ import annotations

from django.urls import NoReverseMatch

REALTIME_KEY_AREA = "real-time-communication-protocols"


def lesson_link_for_realtime() -> dict[str, str] | None:
    """The lesson section on real-time protocols, if the material is imported and routable.

    Returns None rather than a guessed URL: the page never shows a broken link.
    """
    try:
        from lessons.models import KeyArea
    except ImportError:
        return None
    key_area = (
        KeyArea.objects.select_related("section__lesson__course")
        .filter(slug=REALTIME_KEY_AREA)
        .order_by("pk")
        .first()
    )
    if key_area is None:
        return None
    try:
        url = key_area.section.get_absolute_url()
    except NoReverseMatch:
        return None
    return {"url": url, "title": key_area.name}
