"""Bad ids, digits, text and JSON are a 400 naming the field (or a 404), never a server error.

Each case here was a 500 found by fuzzing the API (issue 20): non-ASCII digits reaching
int(), NUL reaching PostgreSQL, integers past a column's width, JSON nested thousands deep.
"""

from __future__ import annotations

import json

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import Assessment, Campaign
from config.inputs import BadInput, check_text, check_tree, parse_id, parse_int
from exports.models import FilterRule
from translation.models import TranslationJob


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def world(db):
    dataset = make_dataset(4)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    admin = make_user("root", "admin")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    return campaign, ann, admin


def refused(response, field: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    body = response.json()  # {"detail", "field"}, or DRF's {field: [messages]} (audit/api.py's serializers)
    assert body.get("field") == field or field in body, body


# --- the pure checks ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "١٢", "abc", "", "-1", "0", str(2**63), "9" * 30])
def test_an_id_is_ascii_digits_within_bigint(value):
    with pytest.raises(BadInput):
        parse_id("id", value)


def test_ids_and_bounded_integers_parse():
    assert parse_id("id", str(2**63 - 1)) == 2**63 - 1
    assert parse_int("n", "0") == 0
    with pytest.raises(BadInput):
        parse_int("n", str(2**31))


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31m", "\x7f\x0b"[1:]])
def test_control_characters_are_refused_but_tab_newline_return_are_text(text):
    with pytest.raises(BadInput):
        check_text("comment", text)
    assert check_text("comment", "a\tb\nc\r\n") == "a\tb\nc\r\n"


def test_json_deeper_than_the_limit_is_refused_naming_the_path_of_a_bad_string():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(BadInput):
        check_tree(deep)
    with pytest.raises(BadInput) as bad:
        check_tree({"options": {"base_url": "x\x00"}})
    assert bad.value.field == "options.base_url"


# --- ids in URLs and query strings --------------------------------------------------------


def test_a_training_job_id_that_is_not_digits_is_a_404(world):
    _, _, admin = world
    client = client_for(admin)
    for path in ("/api/v1/training/jobs/abc/", "/api/v1/training/jobs/abc/loss/"):
        assert client.get(path).status_code == 404
    assert client.post("/api/v1/training/jobs/abc/cancel/").status_code == 404


@pytest.mark.parametrize("param", ["campaign", "translation", "annotator"])
def test_unicode_digits_in_assessment_filters_are_a_400(world, param):
    _, _, admin = world
    refused(client_for(admin).get("/api/v1/assessments/", {param: "²"}), param)


@pytest.mark.parametrize("path,param", [("/api/v1/translations/", "item"), ("/api/v1/snapshots/", "rule")])
def test_unicode_digits_in_v1_filters_are_a_400(world, path, param):
    _, _, admin = world
    refused(client_for(admin).get(path, {param: "²"}), param)


def test_my_grades_with_a_campaign_that_is_no_id_is_a_400(world):
    _, ann, _ = world
    client = client_for(ann)
    refused(client.get("/api/audit/grades/mine/", {"campaign": "abc"}), "campaign")
    refused(client.get("/api/audit/grades/mine/", {"campaign": "²"}), "campaign")
    assert client.get("/api/audit/grades/mine/", {"campaign": "1"}).status_code == 200


@pytest.mark.parametrize("param", ["dataset", "engine"])
def test_nul_in_a_query_filter_is_a_400(world, param):
    _, _, admin = world
    refused(client_for(admin).get("/api/v1/items/", {param: "\x00"}), param)
    refused(client_for(admin).get("/api/v1/translations/", {param: "\x00"}), param)


def test_a_loss_cursor_in_unicode_digits_is_a_400(world):
    from training.models import TrainingJob

    _, _, admin = world
    job = TrainingJob.objects.create(template="tiny", preset="tiny", stages=[], data={})
    refused(client_for(admin).get(f"/api/v1/training/jobs/{job.pk}/loss/", {"after_id": "²"}), "after_id")
    assert client_for(admin).get(f"/api/v1/training/jobs/{job.pk}/loss/", {"after_id": "0"}).status_code == 200


# --- text with NUL ------------------------------------------------------------------------


def _lease(client, campaign) -> int:
    response = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["item"]["assignment"]


@pytest.mark.parametrize("body,field", [
    ({"comment": "fine\x00"}, "comment"),
    ({"post_edit": ["<image>\nUne\x00 forme ?", "Oui"]}, "post_edit.0"),
])  # fmt: skip
def test_nul_in_a_comment_or_post_edit_is_a_400_on_both_grading_endpoints(world, body, field):
    campaign, ann, _ = world
    client = client_for(ann)
    assignment = _lease(client, campaign)
    lean = client.post(f"/api/audit/assignments/{assignment}/grade-next/", {"grade": "high", **body}, format="json")
    refused(lean, field)
    drf = client.post(f"/api/audit/assignments/{assignment}/grade/", {"grade": "high", **body}, format="json")
    assert drf.status_code == 400, drf.content
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("field,value,named", [("dataset", "\x00", "dataset"), ("annotators", ["ann\x00"], "annotators.0")])
def test_nul_in_campaign_fields_is_a_400_and_stores_nothing(world, field, value, named):
    campaign, ann, admin = world
    body = {"name": "c2", "dataset": campaign.dataset.name, "annotators": [ann.username], "overlap": 1, field: value}
    refused(client_for(admin).post("/api/audit/campaigns/", body, format="json"), named)
    assert not Campaign.objects.filter(name="c2").exists()


def test_nul_in_a_rule_spec_is_a_400(world):
    _, _, admin = world
    response = client_for(admin).post("/api/v1/rules/", {"name": "r", "spec": {"engine": "x\x00"}}, format="json")
    refused(response, "spec.engine")
    assert not FilterRule.objects.exists()


@pytest.mark.parametrize("options,field", [
    ({"base_url": "http://localhost\x00/v1"}, "options.base_url"), ({"base_url\x00": "x"}, "options.base_url\x00"),
])  # fmt: skip
def test_nul_in_translation_job_options_is_a_400(world, options, field):
    campaign, _, admin = world
    body = {"dataset": campaign.dataset.name, "engine": "openai", "model": "m", "options": options}
    refused(client_for(admin).post("/api/v1/translation/jobs/", body, format="json"), field)
    assert not TranslationJob.objects.exists()


# --- integers past a column, JSON too deep ---------------------------------------------------


@pytest.mark.parametrize("field", ["batch_size", "limit"])
def test_translation_job_counts_past_an_integer_column_are_a_400(world, field):
    campaign, _, admin = world
    body = {"dataset": campaign.dataset.name, "engine": "apertium", field: 2**31}
    refused(client_for(admin).post("/api/v1/translation/jobs/", body, format="json"), field)


@pytest.mark.parametrize("field", ["seed", "sample_size"])
def test_campaign_seed_and_sample_size_past_an_integer_column_are_a_400(world, field):
    campaign, ann, admin = world
    body = {"name": "c3", "dataset": campaign.dataset.name, "annotators": [ann.username], "overlap": 1,
            "sampling": "random", "sample_size": 2, field: 10**20}  # fmt: skip
    refused(client_for(admin).post("/api/audit/campaigns/", body, format="json"), field)


def test_json_nested_5000_deep_is_a_400_on_drf_and_the_lean_endpoint(world):
    campaign, ann, admin = world
    deep = "[" * 5000 + "]" * 5000
    body = '{"name": "r", "spec": ' + deep + "}"
    response = client_for(admin).post("/api/v1/rules/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    client = client_for(ann)
    assignment = _lease(client, campaign)
    lean = client.post(f"/api/audit/assignments/{assignment}/grade-next/", '{"grade": "high", "x": ' + deep + "}",
                       content_type="application/json")  # fmt: skip
    assert lean.status_code == 400, lean.content
    shallow_but_over = json.dumps({"grade": "high", "x": json.loads("[" * 70 + "]" * 70)})
    lean = client.post(f"/api/audit/assignments/{assignment}/grade-next/", shallow_but_over,
                       content_type="application/json")  # fmt: skip
    refused(lean, "body")
