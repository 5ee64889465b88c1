"""The campaign and estimates pages say what their figures mean.

Each coefficient has its bootstrap interval and a one-line reading; a reliability
verdict needs enough controls and says so when it cannot judge; an estimate that
cannot be made says why instead of printing a 0-1 interval.
"""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client

from audit import agreement, agreement_intervals
from audit.assignment import next_assignment
from audit.grading import do_grade
from audit.models import Assessment, Entry, FinalGrade

pytestmark = pytest.mark.django_db


def grade_everything(campaign, user, choose):
    while (lease := next_assignment(campaign, user)) is not None:
        do_grade(lease.pk, {"grade": choose(lease)}, annotator=user)


def reviewer() -> Client:
    client = Client()
    client.force_login(make_user("rev", "reviewer"))
    return client


def test_alpha_and_kappa_come_with_their_interval_and_a_reading():
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(make_dataset(40), [ann, bob], overlap=2, control_share=0)
    grade_everything(campaign, ann, lambda lease: ("high", "moderate", "low")[lease.entry_id % 3])
    grade_everything(campaign, bob, lambda lease: ("high", "moderate", "low")[lease.entry_id % 3 if lease.entry_id % 4 else 0])
    ratings = list(Assessment.objects.values_list("entry_id", "annotator__username", "grade"))
    alpha, alpha_iv = agreement.krippendorff_alpha(ratings).value, agreement_intervals.alpha_interval(ratings)
    kappa, kappa_iv = agreement.cohen_weighted_kappa(ratings, "ann", "bob").value, agreement_intervals.cohen_kappa_interval(ratings, "ann", "bob")
    html = reviewer().get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    alpha_row = html[html.index('<tr id="alpha">') : html.index("</tr>", html.index('<tr id="alpha">'))]
    assert f"{alpha:.3f}" in alpha_row and f"{alpha_iv.low:.3f} – {alpha_iv.high:.3f}" in alpha_row
    assert agreement_intervals.read_alpha(alpha, alpha_iv).split(" (")[0] in alpha_row
    kappa_row = html[html.index('<tr id="kappa-ann-bob">') :]
    kappa_row = kappa_row[: kappa_row.index("</tr>")]
    assert f"{kappa:.3f}" in kappa_row and f"{kappa_iv.low:.3f} – {kappa_iv.high:.3f}" in kappa_row
    assert f"{agreement_intervals.kappa_band(kappa)} agreement (Landis &amp; Koch)" in kappa_row
    api = Client()
    api.force_login(make_user("rev2", "reviewer"))
    stats = api.get(f"/api/audit/campaigns/{campaign.pk}/stats/").json()
    assert stats["intervals"]["alpha"]["low"] == pytest.approx(alpha_iv.low)


def test_reliability_says_too_few_controls_instead_of_ok():
    careless, careful = make_user("careless", "annotator"), make_user("careful", "annotator")
    campaign = make_campaign(make_dataset(80), [careless, careful], overlap=2, control_share=0.05)
    grade_everything(campaign, careless, lambda lease: "high")  # misses every control
    grade_everything(campaign, careful, lambda lease: "low" if lease.is_control else "high")
    controls = Entry.objects.filter(campaign=campaign, is_control=True).count()
    assert 0 < controls < agreement.CONTROL_MIN_ITEMS  # 5% of 80 items never reaches a verdict
    html = reviewer().get(f"/audit/campaigns/{campaign.pk}/").content.decode()
    row = html[html.index("<td>careless</td>") :]
    row = row[: row.index("</tr>")]
    seen = Assessment.objects.filter(annotator=careless, entry__is_control=True).count()
    assert f"0 / {seen}" in row and f"too few controls ({seen} of 10 needed)" in row and ">ok" not in row
    assert f"This campaign has {controls} control items; a verdict on an annotator needs 10" in html
    assert 'data-verdict="ok"' not in html


def test_the_estimates_page_says_which_task_type_has_no_grade_yet():
    ann = make_user("ann", "annotator")
    campaign = make_campaign(make_dataset(24), [ann], overlap=1, control_share=0, sampling="stratified", sample_size=16)
    grade_everything(campaign, ann, lambda lease: "high")
    FinalGrade.objects.filter(entry__stratum="reading").delete()
    html = reviewer().get(f"/audit/campaigns/{campaign.pk}/estimates/").content.decode()
    assert "<strong>No estimate yet:</strong> task type reading has no final grade yet" in html
    assert "0.000 – 1.000" not in html and "not yet: see above" in html
    per_type = html[html.index('id="per-type"') :]
    assert "no grades yet" in per_type


def test_the_estimates_page_before_any_final_grade():
    campaign = make_campaign(make_dataset(8), [make_user("ann", "annotator")], overlap=1, control_share=0)
    html = reviewer().get(f"/audit/campaigns/{campaign.pk}/estimates/").content.decode()
    assert "No estimate yet:</strong> no translation has a final grade yet" in html
    assert "0.000 – 1.000" not in html


def test_a_margin_that_is_not_a_number_falls_back_to_three_points():
    ann = make_user("ann", "annotator")
    campaign = make_campaign(make_dataset(8), [ann], overlap=1, control_share=0)
    grade_everything(campaign, ann, lambda lease: "high")
    client = reviewer()
    for margin in ("nan", "abc", "inf"):
        response = client.get(f"/audit/campaigns/{campaign.pk}/estimates/?margin={margin}")
        assert response.status_code == 200, margin  # "nan" used to be a 500
