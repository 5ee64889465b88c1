"""REST API of evaluation runs and the result pages: create (400 naming the field), status, metrics,
predictions; reviewers read, only admins create; annotators see nothing."""

from __future__ import annotations

import json

import pytest
from campaign_world import make_user
from evaluation_world import done_job, import_benchmarks
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from evaluation.models import EvaluationRun
from evaluation.runner import run_evaluation

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_admin_creates_a_run_reviewer_reads_its_metrics_and_predictions(small_world, model_root):
    import_benchmarks(small_world, "pope")
    admin, reviewer = make_user("boss", "admin"), make_user("rev", "reviewer")
    job = done_job("tiny", name="base")
    body = {"training_job": job.pk, "benchmark": "pope", "split": "popular", "language": "en",
            "max_new_tokens": 2, "limit": 10}  # fmt: skip
    refused = client_for(reviewer).post("/api/v1/evaluations/", body, format="json")
    assert refused.status_code == 403 and not EvaluationRun.objects.exists()
    bad = client_for(admin).post("/api/v1/evaluations/", {**body, "split": "hard"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "split" and "hard" in bad.json()["detail"]
    french = client_for(admin).post("/api/v1/evaluations/", {**body, "language": "fr"}, format="json")
    assert french.status_code == 400 and french.json()["field"] == "language"
    assert not EvaluationRun.objects.exists()

    created = client_for(admin).post("/api/v1/evaluations/", body, format="json")
    assert created.status_code == 202, created.json()
    run_id = created.json()["id"]
    assert created.json()["state"] == "queued" and created.json()["variant"] == "english_base"
    api = client_for(reviewer)
    early = api.get(f"/api/v1/evaluations/{run_id}/predictions/")
    assert early.status_code == 409 and early.json()["field"] == "state"
    run_evaluation(run_id)  # the worker's part (tests/evaluation/test_evaluation_run.py runs a real one)

    status = api.get(f"/api/v1/evaluations/{run_id}/").json()
    assert status["state"] == "done" and status["done"] == 10
    metrics = api.get(f"/api/v1/evaluations/{run_id}/metrics/").json()
    assert metrics["metrics"]["reference"]["n"] == 10 and "f1" in metrics["metrics"]["reference"]["ci95"]
    download = api.get(f"/api/v1/evaluations/{run_id}/predictions/")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert download.status_code == 200 and len(lines) == 10 and "prediction" in json.loads(lines[0])
    table = api.get("/api/v1/evaluations/results/").json()
    assert [row["variant"] for row in table["rows"]] == ["english_base"]
    assert table["rows"][0]["cells"]["pope/popular:en"]["run_id"] == run_id
    assert client_for(reviewer).post(f"/api/v1/evaluations/{run_id}/cancel/").status_code == 403
    assert client_for(admin).post(f"/api/v1/evaluations/{run_id}/cancel/").status_code == 409


def test_result_pages_are_for_reviewers_and_admins_and_the_form_shows_errors(small_world, model_root, client):
    import_benchmarks(small_world, "pope")
    annotator, admin = make_user("ann", "annotator"), make_user("boss", "admin")
    client.force_login(annotator)
    assert client.get("/results/").status_code == 403
    assert client.get("/evaluations/").status_code == 403
    client.force_login(admin)
    page = client.post("/evaluations/new/", {"model_path": "tiny", "benchmark": "pope", "split": "random",
                                             "language": "fr", "pipeline": "direct"})  # fmt: skip
    assert page.status_code == 400
    assert b"no French translation of pope/random yet" in page.content and not EvaluationRun.objects.exists()
    made = client.post("/evaluations/new/", {"model_path": "tiny", "benchmark": "pope", "split": "random",
                                             "language": "en", "pipeline": "direct", "limit": "6"})  # fmt: skip
    run = EvaluationRun.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/evaluations/{run.pk}/"
    run_evaluation(run.pk)
    detail = client.get(f"/evaluations/{run.pk}/")
    assert b"Download predictions" in detail.content and b'data-testid="metrics"' in detail.content
    csv_lines = client.get("/results.csv").content.decode().splitlines()
    assert csv_lines[0].startswith("variant,pope/random en (%),") and csv_lines[1].startswith("tiny,")
