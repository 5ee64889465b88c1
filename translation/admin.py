from django.contrib import admin, messages

from . import services
from .models import Translation, TranslationJob


@admin.register(Translation)
class TranslationAdmin(admin.ModelAdmin):
    list_display = ["item", "target_language", "engine", "model", "prompt_version", "suggested_grade"]
    list_filter = ["engine", "target_language", "suggested_grade"]
    raw_id_fields = ["item"]
    show_full_result_count = False


@admin.register(TranslationJob)
class TranslationJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "dataset", "engine", "model", "state", "done", "total", "errors", "created_at"]
    list_filter = ["state", "engine"]
    readonly_fields = ["state", "total", "done", "errors", "error_log", "message", "engine_seconds",
                       "started_at", "heartbeat_at", "finished_at", "run_started_done"]  # fmt: skip
    actions = ["requeue_jobs", "cancel_jobs"]

    @admin.action(description="Requeue the selected failed, cancelled or stalled jobs")
    def requeue_jobs(self, request, queryset):
        for job in queryset:
            try:
                services.requeue(job)
            except services.JobError as exc:
                self.message_user(request, str(exc), messages.WARNING)

    @admin.action(description="Cancel the selected jobs")
    def cancel_jobs(self, request, queryset):
        cancelled = sum(services.cancel(job) for job in queryset)
        self.message_user(request, f"{cancelled} job(s) cancelled")
