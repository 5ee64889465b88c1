"""Snapshots: the rule's selection, counts per grade / task type / source, determinism, immutability."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone
from export_world import build, graded_world

from audit.models import Campaign, Entry, FinalGrade
from exports.build import ExportError, create_rule, request_snapshot, snapshot_path
from exports.models import Snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


def test_high_rule_keeps_only_high_grades_and_counts_them():
    graded_world(24)
    snapshot = build("high", {"min_grade": "high"})
    assert snapshot.state == "done", snapshot.message
    assert snapshot.item_count == 6  # i % 4 == 0
    assert snapshot.counts["grade"] == {"high": 6}
    assert sum(snapshot.counts["task_type"].values()) == 6
    assert snapshot.counts["source"] == {"consensus": 6}
    data = snapshot_path(snapshot.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == snapshot.sha256 and len(data) == snapshot.size_bytes
    ids = [r["id"] for r in orjson.loads(data)]
    assert ids == [f"mini-{i}" for i in range(0, 24, 4)]
    frozen = snapshot_path(snapshot.items_file).read_text().splitlines()
    assert len(frozen) == 6


def test_moderate_rule_and_grade_sources():
    graded_world(24)
    snapshot = build("hm", {"min_grade": "moderate"}, format="jsonl")
    assert snapshot.counts["grade"] == {"high": 6, "moderate": 6}
    # i % 8 == 1 was adjudicated: 3 of the 6 moderate ones
    assert snapshot.counts["source"] == {"adjudication": 3, "consensus": 9}
    agreed = build("agreed", {"min_grade": "moderate", "require_agreement": True})
    assert agreed.item_count == 9


def test_unaudited_included_when_suggested_grade_meets_the_bar_and_marked_automatic():
    graded_world(24)
    snapshot = build("auto", {"min_grade": "high", "unaudited": "automatic"}, format="jsonl")
    lines = [orjson.loads(line) for line in snapshot_path(snapshot.file).read_bytes().splitlines()]
    automatic = [r for r in lines if r["audit"]["automatic"]]
    # ungraded items are i % 4 == 3, whose suggested grade (i % 4 -> high, moderate, low, "") is "": none
    assert automatic == [] and snapshot.counts["source"] == {"consensus": 6}
    FinalGrade.objects.filter(entry__translation__item__source_index=4).delete()  # suggested "high"
    snapshot = build("auto2", {"min_grade": "high", "unaudited": "automatic"}, format="jsonl")
    lines = [orjson.loads(line) for line in snapshot_path(snapshot.file).read_bytes().splitlines()]
    assert [r["id"] for r in lines if r["audit"]["grade_source"] == "automatic"] == ["mini-4"]
    assert snapshot.counts["source"] == {"automatic": 1, "consensus": 5}


def test_control_items_never_pass():
    _dataset, campaign, _admin = graded_world(24, control_share=0.3)
    controls = list(Entry.objects.filter(campaign=campaign, is_control=True))
    assert controls
    for control in controls:  # even a "high" final grade on a control entry must not count
        FinalGrade.objects.create(entry=control, grade="high", source="consensus")
    snapshot = build("high", {"min_grade": "high", "unaudited": "exclude"})
    text = snapshot_path(snapshot.file).read_text()
    assert snapshot.item_count == 6
    for control in controls:
        corrupted = control.control_turns[-1]["value"]
        if corrupted not in control.translation.turns[-1]["value"]:
            assert orjson.dumps(corrupted).decode() not in text


def test_same_rule_same_data_same_hash_and_later_grades_do_not_change_it():
    graded_world(24)
    first = build("high", {"min_grade": "high"})
    first_bytes = snapshot_path(first.file).read_bytes()
    second = build("high", {"min_grade": "high"})
    assert second.pk != first.pk and second.sha256 == first.sha256
    FinalGrade.objects.filter(grade="moderate").update(grade="high")  # the audit moves on
    third = build("high", {"min_grade": "high"})
    assert third.sha256 != first.sha256 and third.item_count == 12
    first.refresh_from_db()
    assert first.item_count == 6 and snapshot_path(first.file).read_bytes() == first_bytes
    assert Snapshot.objects.get(pk=first.pk).sha256 == hashlib.sha256(first_bytes).hexdigest()


def test_a_rule_selecting_nothing_is_an_error_and_makes_no_snapshot():
    graded_world(8)
    rule = create_rule("none", {"min_grade": "high", "engine": "openai"})
    with pytest.raises(ExportError) as error:
        request_snapshot(rule, "llava", enqueue=False)
    assert "selects nothing" in error.value.message and error.value.status == 422
    FinalGrade.objects.update(grade="low")
    rule = create_rule("none2", {"min_grade": "high"})
    with pytest.raises(ExportError, match="none reaches min_grade=high"):
        request_snapshot(rule, "llava", enqueue=False)
    assert not Snapshot.objects.exists()


def test_a_translation_graded_again_counts_with_its_latest_final_grade_only():
    """The request's check that the rule selects something and the build agree on which grade counts."""
    dataset, campaign, admin = graded_world(8, control_share=0)
    FinalGrade.objects.update(grade="low", decided_at=timezone.now())
    again = Campaign.objects.create(name="again", dataset=dataset, overlap=1, created_by=admin)
    for entry in Entry.objects.filter(campaign=campaign, final__isnull=False):  # 6 of the 8
        regraded = Entry.objects.create(campaign=again, translation=entry.translation, position=entry.position,
                                        stratum=entry.stratum)  # fmt: skip
        FinalGrade.objects.create(entry=regraded, grade="high", source="consensus")
    FinalGrade.objects.filter(entry__campaign=again).update(decided_at=timezone.now() - timedelta(days=1))
    rule = create_rule("high", {"min_grade": "high"})
    with pytest.raises(ExportError, match="none reaches min_grade=high"):
        request_snapshot(rule, "llava", enqueue=False)  # the "high" grades are older than the "low" ones
    FinalGrade.objects.filter(entry__campaign=again).update(decided_at=timezone.now() + timedelta(days=1))
    snapshot = build("high", {"min_grade": "high"})
    assert snapshot.state == "done" and snapshot.item_count == 6


def test_a_second_request_for_the_same_rule_gets_the_same_job():
    graded_world(8)
    rule = create_rule("high", {"min_grade": "high"})
    first, created = request_snapshot(rule, "llava", enqueue=False)
    again, created_again = request_snapshot(rule, "llava", enqueue=False)
    assert created and not created_again and again.pk == first.pk
    assert Snapshot.objects.count() == 1
