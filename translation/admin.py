from django.contrib import admin

from .models import Translation


@admin.register(Translation)
class TranslationAdmin(admin.ModelAdmin):
    list_display = ["item", "target_language", "engine", "model", "prompt_version", "suggested_grade"]
    list_filter = ["engine", "target_language", "suggested_grade"]
    raw_id_fields = ["item"]
    show_full_result_count = False
