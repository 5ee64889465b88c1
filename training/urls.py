"""URLs of the training app: job pages (urls_jobs.py), evaluation and result pages
(urls_results.py), and their REST API under api/v1/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("training.urls_jobs")),
    path("", include("training.urls_results")),
]
