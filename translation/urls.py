from django.urls import path

from . import api, views

app_name = "translation"

urlpatterns = [
    path("translation/translations/", views.translation_list, name="translations"),
    path("translation/translations/<int:translation_id>/", views.translation_detail, name="translation"),
    path("translation/jobs/", views.job_list, name="jobs"),
    path("translation/jobs/start/", views.job_start, name="job_start"),
    path("translation/jobs/<int:job_id>/", views.job_detail, name="job"),
    path("translation/jobs/<int:job_id>/cancel/", views.job_action, {"action": "cancel"}, name="job_cancel"),
    path("translation/jobs/<int:job_id>/requeue/", views.job_action, {"action": "requeue"}, name="job_requeue"),
    path("api/v1/translation/jobs/", api.jobs, name="api_jobs"),
    path("api/v1/translation/jobs/<int:job_id>/", api.job, name="api_job"),
    path("api/v1/translation/jobs/<int:job_id>/cancel/", api.job_cancel, name="api_job_cancel"),
    path("api/v1/translation/jobs/<int:job_id>/requeue/", api.job_requeue, name="api_job_requeue"),
]
