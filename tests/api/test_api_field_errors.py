"""A refusal raised by a service reaches the client as `{"detail", "field"}` with its status, through
the one exception handler (api/handler.py): no view turns it into a response by hand."""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from rest_framework.test import APIClient

from api.errors import FieldError
from audit.models import Assessment
from evaluation.models import EvaluationRun
from exports.models import FilterRule

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_grading_error_keeps_its_status_and_field():
    ann = make_user("ann", "annotator")
    campaign = make_campaign(make_dataset(4), [ann], overlap=1, control_share=0)
    api = client_for(ann)
    item = api.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
    url = f"/api/audit/assignments/{item['assignment']}/grade/"

    bad = api.post(url, {"grade": "excellent"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"detail": "unknown grade 'excellent'; expected one of: high, moderate, low", "field": "grade"}
    assert api.post(url, {"grade": "high"}, format="json").status_code == 201
    twice = api.post(url, {"grade": "low"}, format="json")
    assert twice.status_code == 409 and set(twice.json()) == {"detail", "field"}
    assert "already graded" in twice.json()["detail"] and twice.json()["field"] is None
    assert list(Assessment.objects.values_list("grade", flat=True)) == ["high"]


def test_a_rule_error_names_the_spec_field():
    api = client_for(make_user("boss", "admin"))
    refused = api.post("/api/v1/rules/", {"name": "bad", "spec": {"min_grade": "perfect"}}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "unknown value 'perfect'; expected one of: high, moderate, low",
                              "field": "spec.min_grade"}  # fmt: skip
    assert not FilterRule.objects.exists()


def test_an_evaluation_error_names_the_field():
    api = client_for(make_user("boss", "admin"))
    body = {"model_path": "tiny", "benchmark": "mmlu", "split": "val", "language": "en"}
    refused = api.post("/api/v1/evaluations/", body, format="json")
    assert refused.status_code == 400 and set(refused.json()) == {"detail", "field"}
    assert refused.json()["field"] == "benchmark" and "unknown benchmark 'mmlu'" in refused.json()["detail"]
    assert not EvaluationRun.objects.exists()


def test_any_field_error_from_a_service_is_rendered_with_its_own_status(monkeypatch):
    def refuse(*args, **kwargs):
        raise FieldError("the rule store is read-only today", "name", status=423)

    monkeypatch.setattr("exports.api.create_rule", refuse)
    api = client_for(make_user("boss", "admin"))
    refused = api.post("/api/v1/rules/", {"name": "ok", "spec": {"min_grade": "high"}}, format="json")
    assert refused.status_code == 423
    assert refused.json() == {"detail": "the rule store is read-only today", "field": "name"}


def test_a_bad_query_parameter_is_a_400_naming_it():
    api = client_for(make_user("rev", "reviewer"))
    unknown = api.get("/api/v1/items/?colour=red")
    assert unknown.status_code == 400 and unknown.json()["field"] == "colour"
    not_an_id = api.get("/api/v1/translations/?item=²")
    assert not_an_id.status_code == 400 and not_an_id.json()["field"] == "item"


def test_export_and_translation_job_errors_take_the_same_way():
    api = client_for(make_user("boss", "admin"))
    assert api.post("/api/v1/rules/", {"name": "high", "spec": {"min_grade": "high"}}, format="json").status_code == 201
    taken = api.post("/api/v1/rules/", {"name": "high", "spec": {"min_grade": "low"}}, format="json")
    assert taken.status_code == 400 and taken.json()["field"] == "name" and "exists already" in taken.json()["detail"]
    no_dataset = api.post("/api/v1/translation/jobs/", {"dataset": "nope", "engine": "apertium"}, format="json")
    assert no_dataset.status_code == 400 and set(no_dataset.json()) == {"detail", "field"}
    assert "no dataset named 'nope'" in no_dataset.json()["detail"]


def test_requeueing_a_queued_job_is_a_409_naming_its_state():
    from training.models import TrainingJob
    from translation.models import TranslationJob

    api = client_for(make_user("boss", "admin"))
    translation = TranslationJob.objects.create(dataset=make_dataset(2), engine="apertium", state="queued")
    refused = api.post(f"/api/v1/translation/jobs/{translation.pk}/requeue/")
    assert refused.status_code == 409 and refused.json()["field"] == "state" and "queued" in refused.json()["detail"]
    training = TrainingJob.objects.create(template="english_base", stages=[], state="queued")
    refused = api.post(f"/api/v1/training/jobs/{training.pk}/requeue/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["field"] == "state" and "queued" in refused.json()["detail"]
