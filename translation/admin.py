from django.contrib import admin, messages

from catalog.models import Dataset, Item

from . import services
from .models import Translation, TranslationJob


# Datasets and items (catalog's models) are administered here, beside the translate action
# their admin offers: catalog sits below translation and cannot import it.
@admin.action(description="Translate to French with apertium (queued job)")
def translate_with_apertium(modeladmin, request, queryset):
    for dataset in queryset:
        job = services.create_job(dataset, engine="apertium", created_by=request.user)
        services.enqueue(job)
        modeladmin.message_user(request, f"queued translation job {job.pk} for {dataset} ({job.total} items)")


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    actions = [translate_with_apertium]
    list_display = ["name", "kind", "source_format", "language", "updated_at"]
    list_filter = ["kind", "source_format"]
    search_fields = ["name"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "task_type", "split", "image"]
    list_filter = ["dataset", "task_type", "split"]
    search_fields = ["external_id"]
    list_select_related = ["dataset"]
    show_full_result_count = False  # counting 558k rows on every page view is slow


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
