"""In chromium: an annotator grades five items from the keyboard (US and AZERTY key codes), sees the
progress bar move and the next item at once, undoes a grade, survives a network drop; a reviewer
resolves a disagreement."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_campaign, make_dataset, make_user
from PIL import Image

from audit.assignment import next_assignment
from audit.grading import do_grade
from audit.models import Assessment, FinalGrade, PendingAdjudication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
@pytest.fixture
def world(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    for i in range(3):
        Image.new("RGB", (64, 64), ("red", "green", "blue")[i]).save(tmp_path / f"img{i}.png")
    dataset = make_dataset(12, image_root=tmp_path)
    ann = make_user("ann", "annotator", password=True)
    bob = make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    return campaign, ann, bob


def log_in(page, base, username):
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def shown(page) -> str:
    return page.get_attribute("#grader", "data-assignment")


def press_and_time(page, code: str, key: str) -> tuple[str, float]:
    """Dispatch a keydown as the given layout sends it; return the item shown after and the time it took."""
    return page.evaluate(
        """([code, key]) => {
            const before = document.getElementById('grader').dataset.assignment;
            const t0 = performance.now();
            document.dispatchEvent(new KeyboardEvent('keydown', {code: code, key: key, bubbles: true}));
            const after = document.getElementById('grader').dataset.assignment;
            return [after === before ? null : after, performance.now() - t0];
        }""",
        [code, key],
    )


def test_annotator_grades_from_the_keyboard_undoes_and_survives_a_network_drop(world, live_server, browser_page):
    campaign, ann, _ = world
    page, base = browser_page, live_server.url
    log_in(page, base, "ann")
    page.goto(f"{base}/audit/campaigns/{campaign.pk}/grade/")
    page.wait_for_selector("#grader[data-state=item][data-buffered='3']")
    # An <img> has no box until it loads (slow on a busy machine): wait for the pixels first.
    page.wait_for_function("document.getElementById('item-image').naturalWidth === 64")
    assert page.is_visible("#item-image") and "La forme" in page.inner_text("#turns")
    # AZERTY: the unshifted digit row types & é " but KeyboardEvent.code is still Digit1..3.
    keys = [("Digit1", "&"), ("Digit2", "é"), ("Digit3", '"'), ("Numpad1", "1"), ("Digit1", "1")]
    graded = []
    for n, (code, key) in enumerate(keys, start=1):
        page.wait_for_selector("#grader[data-buffered='3']")
        before = shown(page)
        after, ms = press_and_time(page, code, key)
        assert after and after != before and ms < 100, f"next item took {ms:.0f} ms"
        graded.append(int(before))
        page.wait_for_function(f"document.getElementById('progress').dataset.mine === '{n}'")
    assert page.evaluate("document.getElementById('progress').value") == 5
    grades = dict(Assessment.objects.filter(annotator=ann).values_list("assignment_id", "grade"))
    assert [grades[a] for a in graded] == ["high", "moderate", "low", "high", "high"]

    # Typing in the comment box never grades.
    page.fill("#comment", "1 2 3")
    page.press("#comment", "Digit1")
    assert Assessment.objects.filter(annotator=ann).count() == 5

    page.click("#undo")
    page.wait_for_function(f"document.getElementById('grader').dataset.assignment === '{graded[-1]}'")
    assert Assessment.objects.filter(annotator=ann).count() == 4
    assert page.evaluate("document.getElementById('progress').dataset.mine") == "4"

    # The network drops: the grade is kept, retried, a warning shows; it is saved once the network is back.
    page.route("**/grade-next/", lambda route: route.abort())
    page.click("button[data-grade=moderate]")
    page.wait_for_selector("#net-warning:not([hidden])", timeout=15000)
    assert "not saved yet" in page.inner_text("#net-warning")
    page.unroute("**/grade-next/")
    page.wait_for_selector("#net-warning", state="hidden", timeout=15000)
    page.wait_for_function("document.getElementById('progress').dataset.mine === '5'")
    assert Assessment.objects.get(assignment_id=graded[-1]).grade == "moderate"


def test_reviewer_resolves_a_disagreement_in_the_adjudication_queue(world, live_server, browser_page):
    campaign, ann, bob = world
    for user, grade in ((ann, "high"), (bob, "low")):
        lease = next_assignment(campaign, user)
        do_grade(lease.pk, {"grade": grade, "comment": f"{user.username} says {grade}"}, annotator=user)
    entry_id = PendingAdjudication.objects.get().entry_id
    make_user("rev", "reviewer", password=True)
    page, base = browser_page, live_server.url
    log_in(page, base, "rev")
    page.goto(f"{base}/audit/campaigns/{campaign.pk}/adjudication/")
    card = page.locator(f"section[data-entry='{entry_id}']")
    assert "ann says high" in card.inner_text() and "bob says low" in card.inner_text()
    card.locator("button[value=low]").click()
    page.wait_for_selector("text=Final grade set: low.")
    assert "No disagreement is waiting" in page.content()
    final = FinalGrade.objects.get(entry_id=entry_id)
    assert (final.grade, final.source) == ("low", "adjudication")
