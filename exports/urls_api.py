"""URLs of REST API v1 (/api/v1/..., included by exports/urls.py): datasets, items, translations,
assessments, rules, snapshots, schema, docs.

Translation jobs live under /api/v1/translation/ (translation/urls.py); the audit's
grading API under /api/audit/ (audit/urls.py).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import api, api_assessments

urlpatterns = [
    path("datasets/", api.datasets, name="api_datasets"),
    path("datasets/<int:dataset_id>/", api.dataset, name="api_dataset"),
    path("items/", api.items, name="api_items"),
    path("items/<int:item_id>/", api.item, name="api_item"),
    path("translations/", api.translations, name="api_translations"),
    path("translations/<int:translation_id>/", api.translation, name="api_translation"),
    path("assessments/", api_assessments.assessments, name="api_assessments"),
    path("assessments/<int:assessment_id>/", api_assessments.assessment, name="api_assessment"),
    path("rules/", api.rules, name="api_rules"),
    path("rules/<int:rule_id>/", api.rule, name="api_rule"),
    path("snapshots/", api.snapshots, name="api_snapshots"),
    path("snapshots/<int:snapshot_id>/", api.snapshot, name="api_snapshot"),
    path("snapshots/<int:snapshot_id>/download/", api.snapshot_file, name="api_snapshot_download"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="export:api_schema"), name="api_docs"),
]
