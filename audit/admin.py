from django.contrib import admin

from .models import Assessment, AssessmentChange, Campaign, FinalGrade, Membership

# --- Audit campaigns (created through audit/campaigns.py; read-mostly here) ---


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
