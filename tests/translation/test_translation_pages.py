"""Translation job pages and API: who may start, watch, cancel and requeue jobs."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from catalog.services import import_dataset
from translation.models import TranslationJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(small_world):
    return import_dataset(small_world / "llava/llava_instruct.json", format="llava", name="instruct").dataset


def client_for(client, role):
    call_command("createuser", role, role=role, password="correct-horse-42", verbosity=0)
    client.login(username=role, password="correct-horse-42")
    return client


def test_admin_starts_a_job_from_the_form_and_watches_it(client, dataset, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker path has its own tests; here the page
    client_for(client, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/translation/jobs/start/", {"dataset": "instruct", "engine": "apertium", "limit": "5"})
    job = TranslationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/translation/jobs/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Translating instruct with apertium" in page and 'data-testid="state">done<' in page
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section id="job-progress"') and ">5</span> / 5 items" in fragment


def test_bad_form_input_shows_why_and_starts_nothing(client, dataset):
    client_for(client, "admin")
    response = client.post("/translation/jobs/start/", {"dataset": "instruct", "engine": "deepl"}, follow=True)
    assert "unknown translation engine &#x27;deepl&#x27;" in response.content.decode()
    assert not TranslationJob.objects.exists()


@pytest.mark.parametrize(("role", "list_status", "start_status"), [("annotator", 403, 403), ("reviewer", 200, 403)])
def test_roles_on_job_pages_and_api(client, dataset, role, list_status, start_status):
    client_for(client, role)
    assert client.get("/translation/jobs/").status_code == list_status
    assert client.get("/api/v1/translation/jobs/").status_code == list_status
    assert client.post("/translation/jobs/start/", {"dataset": "instruct", "engine": "apertium"}).status_code == start_status
    body = {"dataset": "instruct", "engine": "apertium"}
    assert client.post("/api/v1/translation/jobs/", body, content_type="application/json").status_code == start_status
    assert not TranslationJob.objects.exists()


def test_api_starts_reports_cancels_and_refuses_bad_requests(client, dataset):
    client_for(client, "admin")
    created = client.post(
        "/api/v1/translation/jobs/", {"dataset": "instruct", "engine": "apertium", "limit": 3}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["state"] == "queued" and created.json()["total"] == 3
    job_id = created.json()["id"]
    assert client.get(f"/api/v1/translation/jobs/{job_id}/").json()["queue"] == "default"
    assert client.post(f"/api/v1/translation/jobs/{job_id}/cancel/").json()["state"] == "cancelled"
    assert client.post(f"/api/v1/translation/jobs/{job_id}/cancel/").status_code == 409
    bad = client.post("/api/v1/translation/jobs/", {"dataset": "nope", "engine": "apertium"}, content_type="application/json")
    assert bad.status_code == 400 and "no dataset named 'nope'" in bad.json()["detail"]
    unknown = client.post("/api/v1/translation/jobs/", {"dataset": "instruct", "engine": "x"}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["field"] == "engine"  # one error shape: {detail, field}
    assert client.get("/api/v1/translation/jobs/999/").status_code == 404


def test_django_admin_action_queues_a_translation_job(client, dataset, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client_for(client, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/catalog/dataset/",
            {"action": "translate_with_apertium", "_selected_action": [dataset.pk]},
            follow=True,
        )
    assert "ueued translation job" in response.content.decode()
    job = TranslationJob.objects.get()
    assert job.dataset == dataset and job.engine == "apertium" and job.state == "done"
