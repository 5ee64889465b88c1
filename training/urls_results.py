"""Evaluation runs, the results table and their REST API (/api/v1/evaluations/), namespace "training"."""

from __future__ import annotations

from django.urls import path

from . import api_results, views_results

urlpatterns = [
    path("evaluations/", views_results.evaluation_list, name="evaluations"),
    path("evaluations/new/", views_results.evaluation_new, name="evaluation_new"),
    path("evaluations/<int:run_id>/", views_results.evaluation_detail, name="evaluation"),
    path("evaluations/<int:run_id>/cancel/", views_results.evaluation_action, {"action": "cancel"}, name="evaluation_cancel"),
    path("evaluations/<int:run_id>/requeue/", views_results.evaluation_action, {"action": "requeue"}, name="evaluation_requeue"),
    path("evaluations/<int:run_id>/predictions.jsonl", views_results.evaluation_predictions, name="evaluation_predictions"),
    path("results/", views_results.results_page, name="results"),
    path("results.csv", views_results.results_csv, name="results_csv"),
    path("api/v1/evaluations/", api_results.runs, name="api_evaluations"),
    path("api/v1/evaluations/results/", api_results.table, name="api_results"),
    path("api/v1/evaluations/<int:run_id>/", api_results.run_detail, name="api_evaluation"),
    path("api/v1/evaluations/<int:run_id>/cancel/", api_results.run_cancel, name="api_evaluation_cancel"),
    path("api/v1/evaluations/<int:run_id>/metrics/", api_results.run_metrics, name="api_evaluation_metrics"),
    path("api/v1/evaluations/<int:run_id>/predictions/", api_results.run_predictions, name="api_evaluation_predictions"),
]
