from django import template
from django.utils.html import format_html

from quizzes import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def review_due_badge(context) -> str:
    """The learner's due-today review count as a nav badge: one query, cached on the request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return ""
    if not hasattr(request, "_quizzes_due_count"):
        request._quizzes_due_count = selectors.review_due_count(user=user)
    count = request._quizzes_due_count
    if not count:
        return ""
    return format_html(
        '<span class="nav-badge" data-review-due="{0}">{0}<span class="visually-hidden"> due</span></span>',
        count,
    )


@register.filter
def percent(value) -> int:
    return round((value or 0) * 100)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def clock(seconds) -> str:
    """Seconds as M:SS for the countdown's first paint (JavaScript keeps it ticking)."""
    seconds = max(int(seconds or 0), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"
