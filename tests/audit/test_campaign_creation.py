"""Creating campaigns: validation errors per field, sampling rules, control items."""

from __future__ import annotations

from collections import Counter

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Assignment, Campaign, Entry

pytestmark = pytest.mark.django_db


def test_admin_form_refuses_k_above_the_team_then_creates_the_campaign():
    dataset = make_dataset(8)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    client = Client()
    client.force_login(make_user("adm", "admin"))
    form = {"name": "first", "dataset": dataset.pk, "annotators": [ann.pk], "overlap": 2, "control_share": 0,
            "sampling": "all", "lease_minutes": 15}  # fmt: skip
    refused = client.post("/audit/campaigns/new/", form)
    assert refused.status_code == 200 and "overlap k=2 needs at least 2 annotators" in refused.content.decode()
    assert not Campaign.objects.exists()
    created = client.post("/audit/campaigns/new/", {**form, "annotators": [ann.pk, bob.pk]})
    campaign = Campaign.objects.get(name="first")
    assert created.status_code == 302 and created["Location"] == f"/audit/campaigns/{campaign.pk}/"
    assert campaign.size == 8 and Assignment.objects.filter(campaign=campaign).count() == 16


def test_api_creation_by_admin_with_errors_per_field():
    dataset = make_dataset(8)
    make_user("ann", "annotator")
    make_user("rev", "reviewer")
    client = APIClient()
    client.force_authenticate(make_user("adm", "admin"))
    body = {"name": "api", "dataset": dataset.name, "annotators": ["ann"], "overlap": 2}
    refused = client.post("/api/audit/campaigns/", body, format="json")
    assert refused.status_code == 400 and "overlap" in refused.json()
    reviewer_in_team = client.post("/api/audit/campaigns/", {**body, "annotators": ["ann", "rev"]}, format="json")
    assert reviewer_in_team.status_code == 400 and "rev is not an annotator" in str(reviewer_in_team.json())
    no_n = client.post("/api/audit/campaigns/", {**body, "overlap": 1, "sampling": "random"}, format="json")
    assert no_n.status_code == 400 and "sample_size" in no_n.json()
    ok = client.post("/api/audit/campaigns/", {**body, "overlap": 1, "sampling": "random", "sample_size": 3},
                     format="json")  # fmt: skip
    assert ok.status_code == 201 and ok.json()["size"] == 3


def test_stratified_sampling_allocates_in_proportion_to_task_types():
    dataset = make_dataset(40)  # four task types, ten each
    people = [make_user("ann", "annotator")]
    campaign = make_campaign(dataset, people, overlap=1, sampling="stratified", sample_size=20, control_share=0)
    strata = Counter(Entry.objects.filter(campaign=campaign).values_list("stratum", flat=True))
    assert set(strata.values()) == {5} and len(strata) == 4


def test_uncertain_first_puts_moderate_suggestions_at_the_front():
    dataset = make_dataset(8)
    campaign = make_campaign(dataset, [make_user("ann", "annotator")], overlap=1, sampling="uncertain", control_share=0)
    ordered = Entry.objects.filter(campaign=campaign).order_by("position").values_list(
        "translation__suggested_grade", flat=True
    )
    assert list(ordered) == ["moderate", "moderate", "", "", "low", "low", "high", "high"]


def test_control_items_are_corruptions_and_never_translation_rows():
    from translation.models import Translation

    dataset = make_dataset(40)
    before = Translation.objects.count()
    campaign = make_campaign(dataset, [make_user("ann", "annotator"), make_user("bob", "annotator")],
                             control_share=0.2)  # fmt: skip
    controls = Entry.objects.filter(campaign=campaign, is_control=True)
    assert controls.count() == 10 and Translation.objects.count() == before
    assert {c.control_kind for c in controls} <= {"swap_answer", "negation", "untranslated", "structure"}
    for control in controls:
        assert control.control_turns != control.translation.turns
    assert Assignment.objects.filter(entry__in=controls).count() == 20  # one slot per annotator
