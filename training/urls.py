"""URLs of the training app (namespace "training"): job pages and their API
(urls_jobs.py), evaluation and result pages and their API (urls_results.py)."""

from __future__ import annotations

from django.urls import include, path

app_name = "training"

urlpatterns = [
    path("", include("training.urls_jobs")),
    path("", include("training.urls_results")),
]
