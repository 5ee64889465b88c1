"""Evaluation runs, the results table and their REST API (/api/v1/evaluations/), namespace "evaluation"."""

from __future__ import annotations

from django.urls import path

from . import api, views

app_name = "evaluation"

urlpatterns = [
    path("evaluations/", views.evaluation_list, name="evaluations"),
    path("evaluations/new/", views.evaluation_new, name="evaluation_new"),
    path("evaluations/<int:run_id>/", views.evaluation_detail, name="evaluation"),
    path("evaluations/<int:run_id>/cancel/", views.evaluation_action, {"action": "cancel"}, name="evaluation_cancel"),
    path("evaluations/<int:run_id>/requeue/", views.evaluation_action, {"action": "requeue"}, name="evaluation_requeue"),
    path("evaluations/<int:run_id>/predictions.jsonl", views.evaluation_predictions, name="evaluation_predictions"),
    path("results/", views.results_page, name="results"),
    path("results.csv", views.results_csv, name="results_csv"),
    path("api/v1/evaluations/", api.runs, name="api_evaluations"),
    path("api/v1/evaluations/results/", api.table, name="api_results"),
    path("api/v1/evaluations/<int:run_id>/", api.run_detail, name="api_evaluation"),
    path("api/v1/evaluations/<int:run_id>/cancel/", api.run_cancel, name="api_evaluation_cancel"),
    path("api/v1/evaluations/<int:run_id>/metrics/", api.run_metrics, name="api_evaluation_metrics"),
    path("api/v1/evaluations/<int:run_id>/predictions/", api.run_predictions, name="api_evaluation_predictions"),
]
