from django.contrib import admin

from .models import Dataset, Item


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
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
