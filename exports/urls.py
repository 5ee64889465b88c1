"""URLs of the export pages (audit/snapshots/...) and of REST API v1 (api/v1/..., exports/urls_api.py)."""

from __future__ import annotations

from django.urls import include, path

from . import views

app_name = "export"

urlpatterns = [
    path("audit/snapshots/", views.snapshot_list, name="snapshots"),
    path("audit/snapshots/rules/<int:rule_id>/build/", views.snapshot_build, name="snapshot_build"),
    path("audit/snapshots/<int:snapshot_id>/", views.snapshot_detail, name="snapshot"),
    path("api/v1/", include("exports.urls_api")),
]
