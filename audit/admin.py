from django.contrib import admin

from catalog.models import Dataset, Item
from translation import services as translation_services



@admin.action(description="Translate to French with apertium (queued job)")
def translate_with_apertium(modeladmin, request, queryset):
    for dataset in queryset:
        job = translation_services.create_job(dataset, engine="apertium", created_by=request.user)
        translation_services.enqueue(job)
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


# --- Audit campaigns (created through audit/campaigns.py; read-mostly here) ---
from .models import Assessment, AssessmentChange, Campaign, FinalGrade, Membership  # noqa: E402


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["annotator", "graded", "served", "controls_served"]
    readonly_fields = ["graded", "served", "controls_served"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "sampling", "size", "overlap", "control_share", "created_at"]
    readonly_fields = ["population", "size", "created_by"]
    inlines = [MembershipInline]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["entry", "annotator", "grade", "created_at"]
    list_filter = ["grade"]
    raw_id_fields = ["assignment", "entry"]
    show_full_result_count = False


@admin.register(AssessmentChange)
class AssessmentChangeAdmin(admin.ModelAdmin):
    list_display = ["entry", "annotator", "changed_by", "action", "at"]
    list_filter = ["action"]
    raw_id_fields = ["entry"]


@admin.register(FinalGrade)
class FinalGradeAdmin(admin.ModelAdmin):
    list_display = ["entry", "grade", "source", "decided_by", "decided_at"]
    list_filter = ["source", "grade"]
    raw_id_fields = ["entry"]
