"""Training job pages and their REST API (/api/v1/training/jobs/), in namespace "training"."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api_jobs, views_jobs

router = SimpleRouter()
router.register("jobs", api_jobs.TrainingJobViewSet, basename="api_training_job")

urlpatterns = [
    path("training/jobs/", views_jobs.job_list, name="jobs"),
    path("training/jobs/new/", views_jobs.job_new, name="job_new"),
    path("training/jobs/<int:job_id>/", views_jobs.job_detail, name="job"),
    path("training/jobs/<int:job_id>/loss/", views_jobs.job_loss, name="job_loss"),
    path("training/jobs/<int:job_id>/cancel/", views_jobs.job_action, {"action": "cancel"}, name="job_cancel"),
    path("training/jobs/<int:job_id>/requeue/", views_jobs.job_action, {"action": "requeue"}, name="job_requeue"),
    path("api/v1/training/", include(router.urls)),
]
