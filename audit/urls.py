"""URLs of the audit pages (audit/...) and of its REST API (api/audit/...)."""

from __future__ import annotations

from django.urls import path

from . import api, api_grade_next, views_campaigns, views_grading

app_name = "audit"

urlpatterns = [
    path("audit/campaigns/", views_campaigns.campaign_list, name="campaigns"),
    path("audit/campaigns/new/", views_campaigns.campaign_new, name="campaign_new"),
    path("audit/campaigns/<int:campaign_id>/", views_campaigns.campaign_detail, name="campaign"),
    path("audit/campaigns/<int:campaign_id>/estimates/", views_campaigns.campaign_estimates_page, name="estimates"),
    path("audit/campaigns/<int:campaign_id>/adjudication/", views_campaigns.adjudication_page, name="adjudication"),
    path("audit/campaigns/<int:campaign_id>/grade/", views_grading.grade_page, name="grade"),
    path("audit/my-grades/", views_grading.my_grades_page, name="my_grades"),
    path("audit/entries/<int:entry_id>/image/", views_grading.entry_image, name="entry_image"),
    path("api/audit/campaigns/", api.campaigns, name="api_campaigns"),
    path("api/audit/campaigns/<int:campaign_id>/stats/", api.campaign_stats, name="api_stats"),
    path("api/audit/campaigns/<int:campaign_id>/next/", api.next_item, name="api_next"),
    path("api/audit/campaigns/<int:campaign_id>/undo/", api.undo, name="api_undo"),
    path("api/audit/campaigns/<int:campaign_id>/tally/", api.my_tally, name="api_tally"),
    path("api/audit/campaigns/<int:campaign_id>/adjudication/", api.adjudication_queue, name="api_adjudication"),
    path("api/audit/assignments/<int:assignment_id>/grade/", api.grade, name="api_grade"),
    path("api/audit/assignments/<int:assignment_id>/grade-next/", api_grade_next.grade_next, name="api_grade_next"),
    path("api/audit/assignments/<int:assignment_id>/skip/", api.skip, name="api_skip"),
    path("api/audit/entries/<int:entry_id>/adjudicate/", api.adjudicate, name="api_adjudicate"),
    path("api/audit/grades/mine/", api.my_grades, name="api_my_grades"),
]
