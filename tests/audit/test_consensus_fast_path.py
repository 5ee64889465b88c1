"""A translation's final grade is the unanimous grade of its k graders, on both grading paths.

The rule is `audit.agreement.consensus`: all k grades equal -> that grade becomes final
(source "consensus"), else the entry waits for an adjudicator. The ORM path
(grading.do_grade) calls it; the grade-next statement (audit/grade_next.py, PostgreSQL)
decides the same in the steps of audit/consensus_sql.py. Every combination of grades for
k = 1, 2, 3 goes through each path here, and each must end exactly as `consensus` says,
and not before the k-th grade.
"""

from __future__ import annotations

import itertools

import pytest
from campaign_world import make_campaign, make_dataset, make_user

from audit.agreement import consensus
from audit.assignment import next_assignment
from audit.grade_next import grade_and_next
from audit.grading import do_grade
from audit.models import FinalGrade, PendingAdjudication
from config.database import is_postgresql

pytestmark = pytest.mark.django_db

GRADES = ("high", "moderate", "low")


def grade_with_sql(assignment_id: int, grade: str, annotator) -> None:
    assert is_postgresql()  # grade_and_next takes the SQL path there
    grade_and_next(assignment_id, {"grade": grade}, annotator=annotator, want_next=False, exclude=set())


def grade_with_orm(assignment_id: int, grade: str, annotator) -> None:
    do_grade(assignment_id, {"grade": grade}, annotator=annotator)


PATHS = [
    pytest.param(grade_with_sql, id="sql", marks=pytest.mark.postgresql(reason="the grade-next SQL is PostgreSQL's")),
    pytest.param(grade_with_orm, id="orm"),
]


def outcomes(campaign) -> dict[int, tuple[str, str | None]]:
    """Entry position -> ("final", grade) for a consensus, ("adjudication", None) for a wait."""
    seen: dict[int, tuple[str, str | None]] = {}
    for final in FinalGrade.objects.filter(entry__campaign=campaign).select_related("entry"):
        assert final.source == FinalGrade.Source.CONSENSUS and final.decided_by_id is None
        seen[final.entry.position] = ("final", final.grade)
    for pending in PendingAdjudication.objects.filter(entry__campaign=campaign).select_related("entry"):
        assert pending.entry.position not in seen, "an entry both final and waiting for adjudication"
        seen[pending.entry.position] = ("adjudication", None)
    return seen


@pytest.mark.parametrize("grade", PATHS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_kth_grade_settles_every_combination_as_consensus_does(grade, k):
    combos = list(itertools.product(GRADES, repeat=k))  # entry at position p gets combos[p]
    annotators = [make_user(f"ann{n}", "annotator") for n in range(k)]
    campaign = make_campaign(make_dataset(len(combos)), annotators, overlap=k, control_share=0)

    for n, annotator in enumerate(annotators):
        assert outcomes(campaign) == {}, "settled before all k grades were in"
        graded = 0
        while (lease := next_assignment(campaign, annotator)) is not None:
            grade(lease.pk, combos[lease.entry.position][n], annotator)
            graded += 1
        assert graded == len(combos)

    expected = {}
    for position, grades in enumerate(combos):
        agreed = consensus(list(grades))
        expected[position] = ("final", agreed) if agreed is not None else ("adjudication", None)
    assert outcomes(campaign) == expected
