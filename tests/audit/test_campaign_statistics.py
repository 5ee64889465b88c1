"""Campaign page (agreement, reliability flags), estimates page, adjudication queue."""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client

from audit import agreement, estimates
from audit.assignment import next_assignment
from audit.grading import do_grade
from audit.models import AssessmentChange, FinalGrade, PendingAdjudication

pytestmark = pytest.mark.django_db


def grade_everything(campaign, user, choose):
    while (lease := next_assignment(campaign, user)) is not None:
        do_grade(lease.pk, {"grade": "low" if lease.is_control else choose(lease.entry_id)}, annotator=user)


@pytest.fixture
def graded():
    dataset = make_dataset(30)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    grade_everything(campaign, ann, lambda e: "high" if e % 3 else "moderate")
    grade_everything(campaign, bob, lambda e: "high" if e % 5 else "low")
    reviewer = Client()
    reviewer.force_login(make_user("rev", "reviewer"))
    return campaign, reviewer


def test_campaign_page_shows_the_agreement_module_figures(graded):
    from audit.models import Assessment

    campaign, reviewer = graded
    ratings = list(Assessment.objects.values_list("entry_id", "annotator__username", "grade"))
    alpha = agreement.krippendorff_alpha(ratings).value
    kappa = agreement.cohen_weighted_kappa(ratings, "ann", "bob").value
    html = reviewer.get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    assert f"{alpha:.3f}" in html and f"{kappa:.3f}" in html
    stats = reviewer.get(f"/api/audit/campaigns/{campaign.pk}/stats/").json()
    assert stats["alpha"]["value"] == pytest.approx(alpha) and stats["progress"]["grades_done"] == 60


def test_estimates_page_extrapolates_with_wilson_intervals(graded):
    campaign, reviewer = graded
    finals = list(FinalGrade.objects.values_list("grade", flat=True))
    counts = {g: finals.count(g) for g in ("high", "moderate", "low")}
    share = estimates.share_estimate([estimates.Stratum("all", campaign.population, counts)], ["high"])
    page = reviewer.get(f"/audit/campaigns/{campaign.pk}/estimates/?rule=high&margin=3").content.decode()
    assert f"{share.estimate:.3f}" in page and f"{share.low:.3f} – {share.high:.3f}" in page
    needed = estimates.items_still_needed(0.03, graded=len(finals), successes=counts["high"], population=30)
    assert f"grade <strong>{needed}</strong> more items" in page
    assert "reading" in page and "yes_no" in page  # per task type


def test_reviewer_resolves_a_disagreement_with_history(graded):
    campaign, reviewer = graded
    pending = PendingAdjudication.objects.filter(entry__campaign=campaign).first()
    assert pending is not None
    page = reviewer.get(f"/audit/campaigns/{campaign.pk}/adjudication/").content.decode()
    assert f'value="{pending.entry_id}"' in page
    response = reviewer.post(f"/audit/campaigns/{campaign.pk}/adjudication/", {"entry": pending.entry_id,
                                                                              "grade": "moderate"})  # fmt: skip
    assert response.status_code == 302
    final = FinalGrade.objects.get(entry_id=pending.entry_id)
    assert (final.grade, final.source, final.decided_by.username) == ("moderate", "adjudication", "rev")
    assert AssessmentChange.objects.filter(action="adjudicate", entry_id=pending.entry_id).exists()
    assert not PendingAdjudication.objects.filter(pk=pending.pk).exists()


def test_annotators_who_miss_controls_are_flagged():
    dataset = make_dataset(40)
    careful, careless = make_user("careful", "annotator"), make_user("careless", "annotator")
    campaign = make_campaign(dataset, [careful, careless], overlap=2, control_share=0.25)
    for user, control_grade in ((careful, "low"), (careless, "high")):
        while (lease := next_assignment(campaign, user)) is not None:
            do_grade(lease.pk, {"grade": control_grade if lease.is_control else "high"}, annotator=user)
    reviewer = Client()
    reviewer.force_login(make_user("rev", "reviewer"))
    rows = {a["annotator"]: a for a in reviewer.get(f"/api/audit/campaigns/{campaign.pk}/stats/").json()["annotators"]}
    assert rows["careless"]["flagged"] and not rows["careful"]["flagged"]
    assert rows["careless"]["controls"] >= agreement.CONTROL_MIN_ITEMS
    html = reviewer.get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    assert html.count("Flagged: misses too many control items") == 1


def test_campaign_page_calibrates_suggested_grades_against_final_grades(graded):
    from audit.models import Entry
    from translation.models import Translation

    campaign, reviewer = graded
    Translation.objects.update(suggested_grade="high")
    finals = dict(FinalGrade.objects.values_list("entry_id", "grade"))
    stats = reviewer.get(f"/api/audit/campaigns/{campaign.pk}/stats/").json()["calibration"]
    high_row = stats["matrix"][stats["labels"].index("high")]
    assert sum(high_row) == stats["n_items"] == len(finals)
    assert high_row[stats["labels"].index("high")] == list(finals.values()).count("high")
    assert stats["n_skipped"] == Entry.objects.filter(campaign=campaign, is_control=False).count() - len(finals)
    html = reviewer.get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    assert 'id="calibration"' in html and "linearly weighted kappa" in html


def test_campaign_page_title_is_just_the_campaign(graded):
    campaign, reviewer = graded
    html = reviewer.get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    title = html[html.index("<title>") + 7 : html.index("</title>")]
    assert title == f"{campaign.name} · Relecture"
