from __future__ import annotations

from django.urls import path

from . import views

app_name = "study"

urlpatterns = [
    path("study/", views.study_list, name="studies"),
    path("study/start/", views.study_start, name="study_start"),
    path("study/<slug:name>/", views.study_detail, name="study"),
]
