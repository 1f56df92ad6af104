from django.contrib import admin

from courses.models import Announcement, Cohort, CohortInvite, CohortMembership


class MembershipInline(admin.TabularInline):
    model = CohortMembership
    fk_name = "cohort"
    extra = 0
    raw_id_fields = ["user", "invite"]
    fields = ["user", "role", "joined_at", "removed_at", "removal"]


class InviteInline(admin.TabularInline):
    model = CohortInvite
    extra = 0
    fields = ["code", "role", "expires_at", "revoked_at"]
    readonly_fields = ["code"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "starts_on", "ends_on", "weekly_target", "weekly_target_kind"]
    list_filter = ["course"]
    search_fields = ["name"]
    inlines = [MembershipInline, InviteInline]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "cohort", "author", "to_everyone", "created_at"]
    list_filter = ["cohort"]
    raw_id_fields = ["author", "recipients"]
