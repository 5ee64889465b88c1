"""The balance report: answer types, yes/no share with a visible skew warning, letters, removals."""

from __future__ import annotations

import pytest
from export_world import build, graded_world

from exports.balance import BalanceCounter, answer_type


def turns(answer: str) -> list[dict]:
    return [{"from": "human", "value": "Q"}, {"from": "gpt", "value": answer}]


def test_answer_types():
    assert answer_type("Oui") == ("yes_no", "yes") and answer_type("Non, elle est bleue.") == ("yes_no", "no")
    assert answer_type("B") == ("option_letter", "B") and answer_type("(C) un cercle") == ("option_letter", "C")
    assert answer_type("12") == ("number", None) and answer_type("un carré rouge") == ("short", None)
    assert answer_type("Une longue phrase qui décrit l'image.")[0] == "long"


def test_skew_beyond_65_35_is_warned_and_removals_counted():
    counter = BalanceCounter()
    for answer in ["Oui"] * 7 + ["Non"] * 3:
        counter.candidate("yes_no")
        counter.keep("yes_no", turns(answer), post_edited=answer == "Non", answer_letter=None)
    for _ in range(5):
        counter.candidate("caption")
    counter.keep("caption", turns("A red square on a blue field."), False, None)
    counter.candidate("scienceqa")
    counter.keep("scienceqa", turns("le soleil"), False, answer_letter="B")
    report = counter.report()
    assert report["yes_no"] == {"yes": 7, "no": 3, "yes_share": 0.7}
    assert report["warnings"] and "70% yes" in report["warnings"][0]
    assert report["option_letters"] == {"B": {"count": 1, "share": 1.0}}
    assert report["removed_by_task_type"]["caption"] == {"candidates": 5, "kept": 1, "removed_share": 0.8}
    assert report["post_edit_share"] == pytest.approx(3 / 12)
    balanced = BalanceCounter()
    for answer in ["Oui"] * 6 + ["Non"] * 4:
        balanced.keep("yes_no", turns(answer), False, None)
    assert balanced.report()["warnings"] == []


@pytest.mark.django_db
def test_the_snapshot_page_shows_the_report_and_the_warning(client, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path
    _dataset, _campaign, admin = graded_world(24)
    snapshot = build("high", {"min_grade": "high"})  # every kept answer is "Non ..."
    client.force_login(admin)
    page = client.get(f"/audit/snapshots/{snapshot.pk}/").content.decode()
    assert "Balance report" in page and 'role="alert"' in page and "0% yes, 100% no" in page
    assert "Removed by the filter" in page
    listing = client.get("/audit/snapshots/").content.decode()
    assert f"/audit/snapshots/{snapshot.pk}/" in listing and "/api/v1/docs/" in listing
    made = client.post("/audit/snapshots/", {"name": "hm", "min_grade": "moderate", "unaudited": "exclude",
                                             "use_post_edit": "on"})  # fmt: skip
    assert made.status_code == 302
    from exports.models import FilterRule

    built = client.post(f"/audit/snapshots/rules/{FilterRule.objects.get(name='hm').pk}/build/", {"format": "jsonl"})
    assert built.status_code == 302 and "/audit/snapshots/" in built["Location"]
