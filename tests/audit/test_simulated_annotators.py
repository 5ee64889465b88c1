"""Simulated annotators grade a campaign through the grading services, seeded, and are labelled simulated."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from campaign_world import PASSWORD, make_campaign, make_dataset, make_user
from django.core.management import CommandError, call_command
from export_world import build

from audit.agreement import consensus
from audit.models import Assessment, Assignment, AssessmentChange, Entry, FinalGrade, PendingAdjudication
from audit.simulated import (
    SimulatedGrader, add_to_campaign, ensure_simulated_annotators, grade_campaign, is_simulated, true_grade,
)  # fmt: skip
from translation.models import Translation

pytestmark = pytest.mark.django_db


def _campaign(n: int, *, simulated: int = 2, name: str = "camp", **options):
    dataset = make_dataset(n, name=f"{name}-data")
    return make_campaign(dataset, ensure_simulated_annotators(simulated), name=name, **options)


def test_grading_goes_through_the_services_respecting_overlap():
    campaign = _campaign(40, simulated=3, control_share=0.1)
    summary = grade_campaign(campaign, seed=1)
    regular = Entry.objects.filter(campaign=campaign, is_control=False)
    # k = 2 grades per translation, no one twice, every grade on a done assignment with its history row
    per_entry = Counter(Assessment.objects.filter(entry__in=regular).values_list("entry_id", flat=True))
    assert set(per_entry.values()) == {2} and len(per_entry) == campaign.size
    pairs = list(Assessment.objects.filter(entry__campaign=campaign).values_list("entry_id", "annotator_id"))
    assert len(pairs) == len(set(pairs))
    assert not Assignment.objects.filter(campaign=campaign, assessment__isnull=False).exclude(state="done").exists()
    assert AssessmentChange.objects.filter(entry__campaign=campaign, action="grade").count() == len(pairs)
    # controls were served in the queues, and each settled entry has its consensus or waits for a reviewer
    assert summary.controls > 0 and summary.controls == Assessment.objects.filter(entry__is_control=True).count()
    assert FinalGrade.objects.filter(entry__campaign=campaign).count() + PendingAdjudication.objects.filter(
        entry__campaign=campaign).count() == campaign.size  # fmt: skip
    assert summary.graded == len(pairs) and sum(summary.per_grader.values()) == len(pairs)
    assert all(n > 0 for n in summary.per_grader.values()), "three graders at k = 2 all take part"
    assert grade_campaign(campaign, seed=1).graded == 0, "a second run finds nothing left"


def test_limit_stops_each_grader_and_the_next_run_finishes():
    campaign = _campaign(20, control_share=0)
    first = grade_campaign(campaign, limit=5)
    assert first.per_grader == {"simulated-1": 5, "simulated-2": 5}
    assert not Assignment.objects.filter(campaign=campaign, state="leased").exists(), "no lease left dangling"
    rest = grade_campaign(campaign)
    assert first.graded + rest.graded == 40


def test_the_same_seed_gives_the_same_grades_another_seed_others():
    dataset = make_dataset(60, name="shared")
    users = ensure_simulated_annotators(2)
    campaigns = [make_campaign(dataset, users, name=f"c{i}", control_share=0) for i in range(3)]
    for campaign, seed in zip(campaigns, (7, 7, 8), strict=True):
        grade_campaign(campaign, seed=seed)

    def grades(campaign):
        return sorted(Assessment.objects.filter(entry__campaign=campaign)
                      .values_list("entry__translation_id", "annotator__username", "grade", "seconds"))  # fmt: skip

    assert grades(campaigns[0]) == grades(campaigns[1])
    assert grades(campaigns[0]) != grades(campaigns[2])


def test_accuracy_holds_against_the_truth_and_injected_errors_are_mostly_graded_low():
    campaign = _campaign(300, control_share=0)
    injected = list(Translation.objects.filter(item__dataset=campaign.dataset).order_by("pk")[::5])
    for translation in injected:
        translation.injected_error = "answer_changed"
    Translation.objects.bulk_update(injected, ["injected_error"])
    graders = [SimulatedGrader("simulated-1", accuracy=0.8, bias="strict", seed=3),
               SimulatedGrader("simulated-2", accuracy=0.8, bias="lenient", seed=3)]
    summary = grade_campaign(campaign, graders=graders)
    assert summary.graded == 600
    assert 0.75 <= summary.accuracy <= 0.85, summary
    low = Assessment.objects.filter(entry__translation__in=injected).values_list("grade", flat=True)
    assert Counter(low)["low"] / len(low) >= 0.75
    # on translations that are truly moderate, the strict grader errs low and the lenient one high
    truly_moderate = {"entry__translation__suggested_grade__in": ["moderate", "low"],
                      "entry__translation__injected_error": ""}
    moderate = Assessment.objects.filter(entry__campaign=campaign, **truly_moderate).exclude(grade="moderate")
    strict = Counter(moderate.filter(annotator__username="simulated-1").values_list("grade", flat=True))
    lenient = Counter(moderate.filter(annotator__username="simulated-2").values_list("grade", flat=True))
    assert strict["low"] > 2 * strict["high"] and lenient["high"] > 2 * lenient["low"], (strict, lenient)


def test_true_grade_reads_injected_errors_structure_and_leftover_words():
    assert true_grade(injected_error="meaning_changed", checks={}, suggested_grade="high") == "low"
    assert true_grade(injected_error="", checks={"structure_ok": False}, suggested_grade="low") == "low"
    assert true_grade(injected_error="", checks={"language": "es"}, suggested_grade="high") == "moderate"
    assert true_grade(injected_error="", checks={"untranslated_share": 0.3}, suggested_grade="high") == "moderate"
    assert true_grade(injected_error="", checks={"structure_ok": True}, suggested_grade="moderate") == "moderate"
    assert true_grade(injected_error="", checks={"language": "fr"}, suggested_grade="high") == "high"
    assert true_grade(injected_error="", checks={}, suggested_grade="high", is_control=True) == "low"


def test_consensus_of_simulated_grades_is_the_final_grade():
    campaign = _campaign(30, control_share=0)
    grade_campaign(campaign, seed=2)
    for final in FinalGrade.objects.filter(entry__campaign=campaign):
        grades = list(Assessment.objects.filter(entry=final.entry).values_list("grade", flat=True))
        assert consensus(grades) == final.grade


def test_simulated_users_cannot_log_in_and_are_recognisable(client):
    user = ensure_simulated_annotators(1)[0]
    assert ensure_simulated_annotators(1) == [user], "idempotent"
    assert is_simulated(user) and not user.has_usable_password()
    assert not client.login(username=user.username, password="")
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    person = make_user("ana", "annotator")
    assert not is_simulated(person)


def test_a_person_named_like_a_simulated_annotator_is_refused():
    make_user("simulated-1", "annotator", password=True)
    with pytest.raises(ValueError, match="is a person"):
        ensure_simulated_annotators(1)


def test_campaign_page_says_which_annotators_and_grades_are_simulated(client):
    dataset = make_dataset(20, name="mixed")
    person = make_user("ana", "annotator")
    campaign = make_campaign(dataset, [person], overlap=1, control_share=0)
    add_to_campaign(campaign, ensure_simulated_annotators(1))
    summary = grade_campaign(campaign)
    reviewer = make_user("rev", "reviewer")
    client.force_login(reviewer)
    html = client.get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    assert 'data-annotator="simulated-1" data-simulated="true"' in html
    assert 'data-annotator="ana" data-simulated="false"' in html
    assert f"{summary.graded} of them simulated" in html
    listing = client.get("/audit/campaigns/").content.decode()
    assert "simulated annotators</span>" in listing
    estimates = client.get(f"/audit/campaigns/{campaign.pk}/estimates/").content.decode()
    assert "simulated" in estimates and f"{summary.graded} of" in estimates


def test_snapshot_counts_and_page_say_how_many_grades_behind_it_are_simulated(client):
    campaign = _campaign(24, control_share=0.2)
    grade_campaign(campaign, seed=4)
    snapshot = build("all-graded", {"min_grade": "low"})
    kept_finals = FinalGrade.objects.filter(entry__campaign=campaign).count()
    assert snapshot.counts["grades"] == {"simulated": 2 * kept_finals, "people": 0}
    reviewer = make_user("rev", "reviewer")
    client.force_login(reviewer)
    html = client.get(f"/audit/snapshots/{snapshot.pk}/").content.decode()
    assert f"{2 * kept_finals} of the {2 * kept_finals} annotator grades behind this snapshot are simulated" in html


def test_assessments_export_says_which_grades_are_simulated(client):
    dataset = make_dataset(8, name="api")
    person = make_user("ana", "annotator")
    campaign = make_campaign(dataset, [person], overlap=1, control_share=0)
    add_to_campaign(campaign, ensure_simulated_annotators(1))
    grade_campaign(campaign)
    client.force_login(make_user("rev", "reviewer"))
    rows = client.get(f"/api/v1/assessments/?campaign={campaign.pk}").json()["results"]
    assert rows and all(row["simulated"] is True and row["annotator_name"] == "simulated-1" for row in rows)


def test_command_adds_simulated_annotators_and_grades_the_campaign():
    dataset = make_dataset(12, name="cmd")
    person = make_user("ana", "annotator")
    campaign = make_campaign(dataset, [person], overlap=1, control_share=0, name="cmd-camp")
    out = StringIO()
    call_command("simulate_grading", "--campaign", "cmd-camp", "--annotators", "2", "--seed", "5", stdout=out)
    assert "2 simulated annotator(s) joined campaign cmd-camp" in out.getvalue()
    assert "12 simulated grades" in out.getvalue()
    assert Assessment.objects.filter(entry__campaign=campaign, annotator__groups__name="simulated").count() == 12
    again = StringIO()
    call_command("simulate_grading", "--campaign", str(campaign.pk), "--annotators", "2", stdout=again)
    assert "joined" not in again.getvalue() and "0 simulated grades" in again.getvalue()
    with pytest.raises(CommandError, match="no campaign named or numbered 'nope'"):
        call_command("simulate_grading", "--campaign", "nope")


def test_snapshots_count_the_injected_errors_each_rule_kept():
    """The study's point: errors injected on purpose and graded low by the (simulated)
    audit are kept by the "all" rule and dropped by the "high" rule; the counts say so."""
    campaign = _campaign(40, control_share=0)
    wrong = list(Translation.objects.order_by("pk").values_list("pk", flat=True)[:10])
    Translation.objects.filter(pk__in=wrong[:6]).update(injected_error="meaning_changed")
    Translation.objects.filter(pk__in=wrong[6:]).update(injected_error="answer_changed")
    grade_campaign(campaign, seed=1, accuracy=1.0)
    everything = build("keep-all", {"min_grade": "low"})
    high = build("keep-high", {"min_grade": "high"})
    assert everything.counts["injected"] == {"none": 30, "answer_changed": 4, "meaning_changed": 6, "untranslated": 0}
    assert high.counts["injected"]["answer_changed"] == high.counts["injected"]["meaning_changed"] == 0
    assert high.counts["injected"]["none"] > 0
