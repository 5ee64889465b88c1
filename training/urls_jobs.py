"""Placeholder until the job pages land: the route names other pages link to."""

from django.http import Http404
from django.urls import path


def _not_yet(request, **kwargs):
    raise Http404("training job pages are not built yet")


urlpatterns = [
    path("training/jobs/", _not_yet, name="jobs"),
    path("training/jobs/<int:job_id>/", _not_yet, name="job"),
]
