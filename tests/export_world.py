"""Helpers for the export tests: a graded campaign over campaign_world's dataset, quickly.

Final grades are written directly (the export reads FinalGrade; how grades settle is
audit/grading.py's business, tested elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from campaign_world import make_campaign, make_dataset, make_user

from audit.models import Entry, FinalGrade
from exports.build import create_rule, request_snapshot, run_build
from exports.models import FilterRule, Snapshot

# Grades by position in the dataset: i % 4 == 0 high, 1 moderate, 2 low, 3 left ungraded.
GRADES = ("high", "moderate", "low", None)


def graded_world(n: int = 24, *, image_root: Path | None = None, control_share: float = 0.2):
    """A dataset of n items with apertium translations, a campaign with controls, final grades."""
    dataset = make_dataset(n, image_root=image_root)
    annotators = [make_user("ann1", "annotator"), make_user("ann2", "annotator")]
    admin = make_user("boss", "admin")
    campaign = make_campaign(dataset, annotators, admin=admin, control_share=control_share)
    for entry in Entry.objects.filter(campaign=campaign, is_control=False).select_related("translation__item"):
        grade = GRADES[entry.translation.item.source_index % 4]
        if grade:
            source = "adjudication" if entry.translation.item.source_index % 8 == 1 else "consensus"
            FinalGrade.objects.create(entry=entry, grade=grade, source=source)
    return dataset, campaign, admin


def build(name: str, spec: dict, *, format: str = "llava", admin=None) -> Snapshot:
    rule = FilterRule.objects.filter(name=name).first() or create_rule(name, spec, created_by=admin)
    snapshot, _created = request_snapshot(rule, format, created_by=admin, enqueue=False)
    return run_build(snapshot.pk)
