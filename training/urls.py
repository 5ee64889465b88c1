"""URLs of the training app (namespace "training"): job pages and their API (urls_jobs.py).
Evaluation and result pages live in evaluation/urls.py (namespace "evaluation")."""

from __future__ import annotations

from django.urls import include, path

app_name = "training"

urlpatterns = [
    path("", include("training.urls_jobs")),
]
