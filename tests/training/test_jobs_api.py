"""The training jobs API: create (400 naming the field, nothing stored), list, cancel, loss points, roles."""

from __future__ import annotations

import pytest
from campaign_world import make_user
from jobs_world import SMALL, english_dataset
from rest_framework.authtoken.models import Token

from training.models import TrainingJob

pytestmark = pytest.mark.django_db
URL = "/api/v1/training/jobs/"


@pytest.fixture
def dataset(tmp_path, settings):
    settings.MODEL_ROOT = tmp_path / "models"
    settings.API_V1_RATES = {"api_v1": "100000/minute"}
    return english_dataset(tmp_path / "data")


def auth(role: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=make_user(role + '1', role)).key}"}


def body(dataset, **changes):
    data = {"en_pretrain": {"dataset": dataset.pk}, "en_finetune": {"dataset": dataset.pk}}
    return {"template": "english_base", "data": data, "overrides": SMALL, **changes}


def test_admin_creates_lists_cancels_and_reads_loss_points(client, dataset):
    admin = auth("admin")
    created = client.post(URL, body(dataset, name="base"), content_type="application/json", **admin)
    assert created.status_code == 201, created.json()
    job = created.json()
    assert job["state"] == "queued" and [s["max_steps"] for s in job["stages"]] == [3, 3]
    assert [j["id"] for j in client.get(URL, **admin).json()] == [job["id"]]

    cancelled = client.post(f"{URL}{job['id']}/cancel/", **admin)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"  # queued: at once
    again = client.post(f"{URL}{job['id']}/cancel/", **admin)
    assert again.status_code == 409 and again.json()["field"] == "state"
    assert client.get(f"{URL}{job['id']}/loss/?after_id=0", **admin).json() == []
    assert client.get(f"{URL}{job['id']}/loss/?after_id=x", **admin).json()["field"] == "after_id"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"preset": "huge"}, "preset", "not a valid choice"),
        ({"overrides": {"language_model": {"lr": -1}}}, "overrides.language_model", "negative learning rate"),
        ({"data": {"en_pretrain": {"dataset": 999999}}}, "data.en_pretrain", "no dataset with id 999999"),
        ({"base_job": 999999}, "base_job", "no training job 999999"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(client, dataset, changes, field, words):
    response = client.post(URL, body(dataset, **changes), content_type="application/json", **auth("admin"))
    assert response.status_code == 400 and response.json()["field"] == field and words in response.json()["detail"]
    assert not TrainingJob.objects.exists()


def test_roles_annotators_see_nothing_reviewers_only_read(client, dataset):
    annotator, reviewer = auth("annotator"), auth("reviewer")
    assert client.get(URL, **annotator).status_code == 403
    assert client.post(URL, body(dataset), content_type="application/json", **annotator).status_code == 403
    assert client.get(URL, **reviewer).status_code == 200
    assert client.post(URL, body(dataset), content_type="application/json", **reviewer).status_code == 403
    assert not TrainingJob.objects.exists()
    client.force_login(make_user("ann", "annotator"))
    assert client.get("/training/jobs/").status_code == 403


def test_schema_lists_the_training_job_routes(admin_client):
    paths = admin_client.get("/api/v1/schema/?format=json").json()["paths"]
    assert {"/api/v1/training/jobs/", "/api/v1/training/jobs/{job_id}/cancel/", "/api/v1/training/jobs/{job_id}/loss/"} <= set(paths)
