"""In chromium: a reviewer settles two disagreements from the keyboard, one item at a time.

The counter moves, J / arrows walk the queue, a held key (auto-repeat) grades nothing,
the AZERTY digit row works by physical key, and each decision is a FinalGrade with
source "adjudication".
"""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_campaign, make_dataset, make_user
from PIL import Image

from audit.assignment import next_assignment
from audit.grading import do_grade
from audit.models import FinalGrade, PendingAdjudication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def disagreements(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    for i in range(3):
        Image.new("RGB", (64, 64), ("red", "green", "blue")[i]).save(tmp_path / f"img{i}.png")
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(make_dataset(6, image_root=tmp_path), [ann, bob], overlap=2, control_share=0)
    for _ in range(3):  # three items where ann says high and bob says low
        for user, grade in ((ann, "high"), (bob, "low")):
            lease = next_assignment(campaign, user)
            do_grade(lease.pk, {"grade": grade, "comment": f"{user.username} says {grade}"}, annotator=user)
    make_user("rev", "reviewer", password=True)
    queue = list(PendingAdjudication.objects.order_by("created_at", "pk").values_list("entry_id", flat=True))
    assert len(queue) == 3
    return campaign, queue


def log_in(page, base, username):
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def keydown(page, code: str, key: str, *, repeat: bool = False) -> None:
    """A keydown as a given layout sends it (AZERTY's unshifted digit row types & é ")."""
    page.evaluate(
        "([code, key, repeat]) => document.dispatchEvent(new KeyboardEvent('keydown', {code, key, repeat, bubbles: true}))",
        [code, key, repeat],
    )


def shows(page, entry_id: int, position: int, count: int) -> None:
    page.wait_for_selector(f"#adjudicator[data-entry='{entry_id}'][data-state=ready]")
    assert page.inner_text("#counter").startswith(f"{position} of {count} pending")


def test_reviewer_adjudicates_two_items_by_keyboard(disagreements, live_server, browser_page):
    campaign, (first, second, third) = disagreements
    page, base = browser_page, live_server.url
    log_in(page, base, "rev")
    page.goto(f"{base}/audit/campaigns/{campaign.pk}/adjudication/")
    shows(page, first, 1, 3)
    page.wait_for_function("document.getElementById('item-image').naturalWidth === 64")
    assert "ann says high" in page.inner_text("#grades") and "bob says low" in page.inner_text("#grades")

    keydown(page, "Digit1", "1", repeat=True)  # a held key's repeats never grade
    page.wait_for_timeout(300)
    assert page.get_attribute("#adjudicator", "data-state") == "ready" and not FinalGrade.objects.exists()

    page.keyboard.press("Digit1")  # high, then the next item
    shows(page, second, 1, 2)
    assert "Final grade set: high." in page.inner_text("main")

    page.keyboard.press("KeyJ")
    shows(page, third, 2, 2)
    page.keyboard.press("ArrowLeft")
    shows(page, second, 1, 2)

    keydown(page, "Digit3", '"')  # AZERTY: the key under 3 types " but its code is Digit3
    shows(page, third, 1, 1)

    finals = {f.entry_id: (f.grade, f.source, f.decided_by.username) for f in FinalGrade.objects.all()}
    assert finals == {first: ("high", "adjudication", "rev"), second: ("low", "adjudication", "rev")}
    assert list(PendingAdjudication.objects.values_list("entry_id", flat=True)) == [third]
