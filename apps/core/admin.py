"""The background jobs in the admin: Procrastinate's job list, with the failed jobs a click away
and a resend action for them; and the emails that went out."""

from django.contrib import admin, messages
from django.db import connections
from procrastinate.contrib.django import admin as procrastinate_admin  # registers its admin
from procrastinate.contrib.django import settings as procrastinate_settings
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Status

from . import jobs
from .models import SentEmail


class FailedFilter(admin.SimpleListFilter):
    """The jobs that need a person: they failed for good (no retry left, or not retryable)."""

    title = "needs attention"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [("yes", "Failed jobs (to resend)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Status.FAILED.value)
        return queryset


def _has_job_tables() -> bool:
    return connections[procrastinate_settings.settings.DATABASE_ALIAS].vendor == "postgresql"


admin.site.unregister(ProcrastinateJob)


@admin.register(ProcrastinateJob)
class JobAdmin(procrastinate_admin.ProcrastinateJobAdmin):
    list_display = [*procrastinate_admin.ProcrastinateJobAdmin.list_display, "attempts"]
    list_filter = [FailedFilter, *procrastinate_admin.ProcrastinateJobAdmin.list_filter]
    # Procrastinate's own "Retry Job" also retries running jobs, which a live worker may finish:
    # "resend" takes failed jobs only. Its cancel and abort actions stay.
    actions = [
        "resend",
        procrastinate_admin.ProcrastinateJobAdmin.cancel,
        procrastinate_admin.ProcrastinateJobAdmin.abort,
    ]

    # Procrastinate's tables exist on PostgreSQL only: no job list on SQLite.
    def has_module_permission(self, request) -> bool:
        return _has_job_tables() and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _has_job_tables() and super().has_view_permission(request, obj)

    @admin.action(description="Resend: run the selected failed jobs again now")
    def resend(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        retried = jobs.retry_failed_jobs(job_ids=selected)
        if retried:
            self.message_user(request, f"{retried} failed job(s) queued again.", messages.SUCCESS)
        if skipped := len(selected) - retried:
            self.message_user(
                request, f"{skipped} job(s) skipped: only failed jobs are resent.", messages.WARNING
            )


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    list_display = ["key", "template", "sent_at"]
    list_filter = ["template"]
    search_fields = ["key"]
    date_hierarchy = "sent_at"
    readonly_fields = ["key", "template", "sent_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
