"""Cohort pages: management, invitations, the instructor dashboard, exports and the learner's own page.

Views stay thin: permission (instructor of *this* cohort, or its learner; anyone else gets 404), then one
selector or service. Kept apart from courses/views.py (lesson progress pages).
"""

import csv
import itertools
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from config import page_cache
from courses import analytics, charts, cohort_services, selectors
from courses.cohort_forms import CohortForm, InviteForm, MessageForm
from courses.models import Cohort, CohortInvite, CohortMembership

Role = CohortMembership.Role


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _cohort_or_404(request: HttpRequest, cohort_id: int) -> Cohort:
    cohort = selectors.cohort_for_instructor(cohort_id=cohort_id, user=request.user)
    if cohort is None:
        raise Http404("No such cohort.")
    return cohort


# --- Cohorts and membership ---------------------------------------------------------------------


@login_required
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    memberships = list(selectors.membership_list_for_user(user=request.user))
    return render(
        request,
        "courses/cohort_list.html",
        {
            "teaching": [m for m in memberships if m.role == Role.INSTRUCTOR],
            "learning": [m for m in memberships if m.role == Role.LEARNER],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def cohort_create(request: HttpRequest) -> HttpResponse:
    form = CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = cohort_services.cohort_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Cohort “{cohort.name}” created. Invite your learners with a link.")
            return redirect("courses:cohort-invites", cohort_id=cohort.pk)
    return render(request, "courses/cohort_form.html", {"form": form, "cohort": None})


@login_required
@require_http_methods(["GET", "POST"])
def cohort_settings(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    form = CohortForm(request.POST or None, instance=cohort, editing=True)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "course"}
        try:
            cohort_services.cohort_update(cohort=Cohort.objects.get(pk=cohort.pk), **fields)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Cohort settings saved.")
            return redirect("courses:cohort-dashboard", cohort_id=cohort.pk)
    return render(request, "courses/cohort_form.html", {"form": form, "cohort": cohort})


@login_required
@require_http_methods(["GET", "POST"])
def cohort_invites(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invite = cohort_services.invite_create(
            cohort=cohort,
            created_by=request.user,
            role=form.cleaned_data["role"],
            expires_at=form.expires_at(),
        )
        messages.success(request, "Invite link created: copy it and send it to your learners.")
        return redirect(
            f"{reverse('courses:cohort-invites', kwargs={'cohort_id': cohort.pk})}#invite-{invite.pk}"
        )
    invites = selectors.invite_list_for_cohort(cohort=cohort)
    return render(
        request,
        "courses/cohort_invites.html",
        {"cohort": cohort, "form": form, "invites": invites, "now": timezone.now()},
    )


@login_required
@require_POST
def invite_revoke(request: HttpRequest, cohort_id: int, invite_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    invite = get_object_or_404(CohortInvite, pk=invite_id, cohort=cohort)
    cohort_services.invite_revoke(invite=invite)
    messages.success(request, "Invite link revoked: it no longer lets anyone join.")
    return redirect("courses:cohort-invites", cohort_id=cohort.pk)


@require_http_methods(["GET", "POST"])
def cohort_join(request: HttpRequest, code: str) -> HttpResponse:
    """Anyone may look at an invite; joining needs an account (login and sign-up come back here)."""
    invite = selectors.invite_get(code=code[:40])
    if invite is None:
        raise Http404("No such invite.")
    state = invite.state(timezone.now())
    context = {"invite": invite, "cohort": invite.cohort, "state": state, "membership": None}
    if state != "active":
        return render(request, "courses/cohort_join.html", context, status=410)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect(f"{reverse('accounts:login')}?next={request.path}")
        return render(request, "courses/cohort_join.html", context)
    if request.method == "POST":
        try:
            membership, joined = cohort_services.cohort_join(invite=invite, user=request.user)
        except cohort_services.InviteUnavailable as exc:
            context["state"] = exc.state
            return render(request, "courses/cohort_join.html", context, status=410)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, "courses/cohort_join.html", context, status=403)
        if joined:
            messages.success(request, f"You joined “{invite.cohort.name}”.")
        else:
            messages.info(request, f"You are already in “{invite.cohort.name}”.")
        if membership.role == Role.INSTRUCTOR:
            return redirect("courses:cohort-dashboard", cohort_id=invite.cohort_id)
        return redirect("courses:cohort-progress", cohort_id=invite.cohort_id)
    context["membership"] = invite.cohort.memberships.filter(
        user=request.user, removed_at__isnull=True
    ).first()
    return render(request, "courses/cohort_join.html", context)


@login_required
@require_POST
def cohort_leave(request: HttpRequest, cohort_id: int) -> HttpResponse:
    membership = get_object_or_404(
        CohortMembership, cohort_id=cohort_id, user=request.user, removed_at__isnull=True
    )
    try:
        cohort_services.membership_leave(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("courses:cohort-dashboard", cohort_id=cohort_id)
    messages.success(request, f"You left “{membership.cohort.name}”. Your own progress is kept.")
    return redirect("courses:cohort-list")


@login_required
@require_POST
def learner_remove(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    membership = get_object_or_404(
        CohortMembership, cohort=cohort, user_id=user_id, role=Role.LEARNER, removed_at__isnull=True
    )
    cohort_services.learner_remove(membership=membership)
    messages.success(
        request, f"{membership.user.name} was removed from the cohort. Their own progress is kept."
    )
    return redirect("courses:cohort-dashboard", cohort_id=cohort.pk)


# --- Dashboard ----------------------------------------------------------------------------------


def _table_params(request: HttpRequest) -> dict:
    sort = request.GET.get("sort", "name")
    show = request.GET.get("show", "all")
    return {
        "sort": sort if sort in selectors.SORTS else "name",
        "desc": request.GET.get("dir") == "desc",
        "show": show if show in selectors.FILTERS else "all",
        "search": request.GET.get("q", "").strip()[:80],
    }


PAGE_SIZE = 50  # learners per page of the table and of the heat map
AT_RISK_SHOWN = 10  # the at-risk summary names this many; the table's "At risk" filter has them all


def _page_number(request: HttpRequest, name: str) -> int:
    value = request.GET.get(name, "1")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@login_required
@require_GET
def cohort_dashboard(request: HtmxHttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)  # permission first: nothing cached is read before it
    params = _table_params(request)
    table_page, heat_page_number = _page_number(request, "page"), _page_number(request, "heat")
    if request.htmx and request.htmx.target == "learners-table":
        context = _dashboard_context(cohort, params, table_page, heat_page_number, full=False)
        return render(request, "courses/cohort_dashboard.html#learners-table", context)
    if page_cache.cacheable(request):
        # The whole page per instructor, cohort version and view (sort, filter, search, pages): a warm
        # request costs the session, the user and the cohort (BENCHMARKS.md, dashboard_500_ratio).
        key = selectors.dashboard_page_key(
            cohort=cohort,
            user_id=request.user.pk,
            view=(*sorted(params.items()), table_page, heat_page_number),
        )
        return page_cache.cached_page(
            request,
            key=key,
            timeout=selectors.ROWS_TTL,
            template="courses/cohort_dashboard.html",
            context=lambda: _dashboard_context(cohort, params, table_page, heat_page_number),
        )
    return render(
        request,
        "courses/cohort_dashboard.html",
        _dashboard_context(cohort, params, table_page, heat_page_number),
    )


def _dashboard_context(
    cohort: Cohort, params: dict, table_page: int, heat_page_number: int, *, full: bool = True
) -> dict:
    ctx = selectors.cohort_context(cohort=cohort)
    cache_key = selectors.cohort_cache_key(ctx=ctx)

    # The table and the heat map are cached fragments keyed by cache_key: their rows are only sorted,
    # paginated and drawn (lazily) when the fragment for this cohort version is missing.
    def table() -> Page:
        rows = selectors.sort_and_filter(selectors.cohort_rows(ctx=ctx, key=cache_key), **params)
        return Paginator(rows, PAGE_SIZE).get_page(table_page)

    page = SimpleLazyObject(table)
    context = {
        "cohort": cohort,
        "ctx": ctx,
        "params": params,
        "sorts": selectors.SORTS,
        "filters": selectors.FILTERS,
        "rows": SimpleLazyObject(lambda: page.object_list),
        "page": page,
        "table_page": table_page,
        "cache_key": cache_key,
        "cache_ttl": selectors.ROWS_TTL,
    }
    if not full:
        return context
    summary = selectors.cohort_summary(ctx=ctx, key=cache_key, top=AT_RISK_SHOWN)
    heat_page = SimpleLazyObject(
        lambda: Paginator(selectors.cohort_rows(ctx=ctx, key=cache_key), PAGE_SIZE).get_page(heat_page_number)
    )
    context.update(
        {
            "learner_count": summary.count,
            "at_risk": summary.at_risk_ids,
            "at_risk_top": summary.at_risk_top,
            "heat_page": heat_page,
            "heat_page_number": heat_page_number,
            "heat": SimpleLazyObject(
                lambda: charts.heat_table(rows=heat_page.object_list, averages=summary.averages)
            ),
            "weekly_chart": SimpleLazyObject(
                lambda: charts.bar_chart(buckets=selectors.cohort_weekly_chart(ctx=ctx, key=cache_key))
            ),
            "threshold": round(analytics.MASTERY_THRESHOLD * 100),
            "announcements": selectors.announcement_list_for_cohort(cohort=cohort, limit=5),
        }
    )
    return context


def learner_row_html(*, cohort_id: int, user_id: int) -> str:
    """The dashboard row for one learner, from the same partial as the page ("" once they left)."""
    return learner_row_payload(cohort_id=cohort_id, user_id=user_id)["html"]


def learner_row_payload(*, cohort_id: int, user_id: int) -> dict:
    """What the dashboard socket pushes: the row's HTML (same partial as the page) and the name."""
    cohort = Cohort.objects.select_related("course").get(pk=cohort_id)
    ctx = selectors.cohort_context(cohort=cohort)
    row = selectors.learner_row(ctx=ctx, user_id=user_id)
    if row is None:
        return {"html": "", "name": "", "at_risk": False}
    html = render_to_string(
        "courses/cohort_dashboard.html#learner-row", {"row": row, "cohort": cohort, "ctx": ctx}
    )
    return {"html": html, "name": row.name, "at_risk": bool(row.at_risk)}


@login_required
@require_GET
def cohort_learner(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    ctx = selectors.cohort_context(cohort=cohort)
    row = selectors.learner_row(ctx=ctx, user_id=user_id)
    if row is None:
        raise Http404("No such learner in this cohort.")
    return render(
        request,
        "courses/cohort_learner.html",
        {
            "cohort": cohort,
            "ctx": ctx,
            "row": row,
            "activity": selectors.recent_activity(user_id=user_id, course_id=cohort.course_id),
            "as_instructor": True,
        },
    )


@login_required
@require_GET
def cohort_questions(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    stats = selectors.question_stats(cohort=cohort)
    show = request.GET.get("show", "all")
    if show == "flagged":
        stats = [s for s in stats if s.flags]
    return render(
        request,
        "courses/cohort_questions.html",
        {
            "cohort": cohort,
            "stats": stats,
            "show": "flagged" if show == "flagged" else "all",
            "min_answers": analytics.MIN_ANSWERS_FOR_FLAGS,
        },
    )


@login_required
@require_POST
def cohort_message(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """One click from the at-risk list (or the dashboard): an announcement or an e-mail."""
    cohort = _cohort_or_404(request, cohort_id)
    ctx = selectors.cohort_context(cohort=cohort)
    everyone = list(selectors.learner_rows(ctx=ctx))
    form = MessageForm(request.POST, learners=[(r.user_id, r.name) for r in everyone])
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["mode"] == "email":
                sent = cohort_services.learners_email(
                    cohort=cohort,
                    sender=request.user,
                    recipient_ids=data["recipients"],
                    subject=data["title"],
                    body=data["body"],
                )
                messages.success(request, f"E-mail sent to {sent} learner{'s' if sent != 1 else ''}.")
            else:
                cohort_services.announcement_post(
                    cohort=cohort,
                    author=request.user,
                    title=data["title"],
                    body=data["body"],
                    recipient_ids=data["recipients"] or None,
                )
                messages.success(request, "Announcement posted. Learners online see it now.")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("courses:cohort-dashboard", cohort_id=cohort.pk)
    return render(request, "courses/cohort_message.html", {"cohort": cohort, "form": form}, status=400)


# --- Exports: streamed CSV (README: "Cohort CSV exports") ----------------------------------------

LEARNER_COLUMNS = [
    "username",
    "name",
    "email",
    "joined_at",
    "lessons_completed",
    "lessons_total",
    "lessons_last_7_days",
    "last_active_at",
    "mock_best_mid",
    "mock_best_senior",
    "mock_best_staff",
    "mock_interviews",
    "review_due",
    "review_done_last_7_days",
    "experiments_run",
    "at_risk_reasons",
]
QUESTION_COLUMNS = [
    "question_key",
    "level",
    "type",
    "answers",
    "facility",
    "discrimination",
    "flags",
    "option_distribution",
    "prompt",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _learner_csv_rows(ctx: selectors.CohortContext) -> Iterator[str]:
    writer = csv.writer(_Echo())
    header = LEARNER_COLUMNS + [f"mastery_{column.slug}" for column in ctx.key_areas]
    yield writer.writerow(header)
    for row in selectors.learner_rows(ctx=ctx):
        yield writer.writerow(
            [
                row.username,
                row.name,
                row.email,
                _iso(row.joined_at),
                row.lessons_completed,
                row.lessons_total,
                row.lessons_week,
                _iso(row.last_active),
                _fmt(row.mock_mid),
                _fmt(row.mock_senior),
                _fmt(row.mock_staff),
                row.mock_count,
                row.review_due,
                row.review_done_week,
                row.experiments_run,
                "; ".join(row.at_risk),
                *[_fmt(score) for _, score, _ in row.mastery],
            ]
        )


def _question_csv_rows(cohort: Cohort) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(QUESTION_COLUMNS)
    for item in selectors.question_stats(cohort=cohort):
        distribution = "; ".join(f"{o['key']}={o['count']}" for o in item.options)
        yield writer.writerow(
            [
                item.key,
                item.level,
                item.type,
                item.n,
                _fmt(item.facility),
                _fmt(item.discrimination),
                "; ".join(item.flags),
                distribution,
                item.prompt,
            ]
        )


async def _stream(rows: Iterator[str], batch: int = 200) -> AsyncIterator[str]:
    """Serve a sync row generator under ASGI without buffering it whole: pull `batch` rows at a time on
    Django's sync thread (where the ORM cursor lives). Memory stays at one batch whatever the cohort size."""

    def next_chunk() -> str:
        return "".join(itertools.islice(rows, batch))

    while chunk := await sync_to_async(next_chunk)():
        yield chunk


def _csv_response(rows: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_learners(request: HttpRequest, cohort_id: int) -> StreamingHttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    ctx = selectors.cohort_context(cohort=cohort)
    return _csv_response(_learner_csv_rows(ctx), f"cohort-{cohort.pk}-learners.csv")


@login_required
@require_GET
def export_questions(request: HttpRequest, cohort_id: int) -> StreamingHttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    return _csv_response(_question_csv_rows(cohort), f"cohort-{cohort.pk}-questions.csv")


# --- The learner's own page ---------------------------------------------------------------------


@login_required
@require_GET
def cohort_progress(request: HttpRequest, cohort_id: int) -> HttpResponse:
    membership = selectors.membership_for_learner(cohort_id=cohort_id, user=request.user)
    if membership is None:
        raise Http404("You are not a learner in this cohort.")
    cohort = membership.cohort
    ctx = selectors.cohort_context(cohort=cohort)
    row = selectors.learner_row(ctx=ctx, user_id=request.user.pk)
    seen_since = membership.announcements_seen_at or membership.joined_at
    seen_since = max(seen_since, membership.joined_at)
    announcements = list(selectors.announcement_list_for_learner(cohort_id=cohort.pk, user=request.user)[:20])
    for announcement in announcements:
        announcement.unread = announcement.created_at > seen_since
    cohort_services.announcements_mark_seen(membership=membership)
    return render(
        request,
        "courses/cohort_progress.html",
        {
            "cohort": cohort,
            "ctx": ctx,
            "row": row,
            "membership": membership,
            "announcements": announcements,
            "activity": selectors.recent_activity(user_id=request.user.pk, course_id=cohort.course_id),
            "as_instructor": False,
        },
    )
