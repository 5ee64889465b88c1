"""URLs of the export pages (audit/snapshots/...) and of REST API v1 (api/v1/..., audit/urls_v1.py)."""

from __future__ import annotations

from django.urls import include, path

from . import views_export

app_name = "export"

urlpatterns = [
    path("audit/snapshots/", views_export.snapshot_list, name="snapshots"),
    path("audit/snapshots/rules/<int:rule_id>/build/", views_export.snapshot_build, name="snapshot_build"),
    path("audit/snapshots/<int:snapshot_id>/", views_export.snapshot_detail, name="snapshot"),
    path("api/v1/", include("audit.urls_v1")),
]
