"""Result pages show, for the data behind each model, how the annotators agreed (controls
left out), beside the grade shares: percent agreement and Krippendorff's alpha."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from export_world import build, graded_world

from audit.assignment import next_assignment
from audit.grading import do_grade
from evaluation import results

pytestmark = pytest.mark.django_db


def test_audit_summary_reports_agreement_of_human_grades(tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path / "exports"
    dataset, campaign, _ = graded_world(8, control_share=0)
    for name, grades in (("ann1", ("high", "low")), ("ann2", ("high", "moderate"))):
        user = User.objects.get(username=name)
        count = 0
        while (lease := next_assignment(campaign, user)) is not None:
            do_grade(lease.pk, {"grade": grades[count % 2]}, annotator=user)
            count += 1
    snapshot = build("all-kept", {"min_grade": "low", "unaudited": "automatic", "datasets": [dataset.name]})
    summary = results.audit_summary(snapshot)["agreement"]
    assert summary["grades"] == 16
    assert summary["percent"] == pytest.approx(0.5)  # they agree on every other item
    assert summary["alpha"] is not None and summary["alpha"] < 1


def test_without_human_grades_there_is_no_agreement_to_show(tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path / "exports"
    dataset, _, _ = graded_world(8, control_share=0)
    snapshot = build("all-kept", {"min_grade": "low", "unaudited": "automatic", "datasets": [dataset.name]})
    assert results.audit_summary(snapshot)["agreement"] == {"grades": 0, "percent": None, "alpha": None}
