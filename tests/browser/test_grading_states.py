"""In chromium, the grading page never stalls or misfires: the end of the queue really ends, a held key
grades once, a cancelled flag keeps the item, undo brings back a grade with its whole form two steps
back, and skipped items come back at the end, counted honestly."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_campaign, make_dataset, make_user
from PIL import Image

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from audit.models import Assessment, Assignment, Skip
from audit.payloads import item_label

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def grading(tmp_path, settings, live_server, browser_page):
    """A function opening the grading page of a fresh one-annotator campaign of ``n`` items, logged in as ann."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    for i in range(3):
        Image.new("RGB", (64, 48), ("red", "green", "blue")[i]).save(tmp_path / f"img{i}.png")

    def open_page(n: int):
        ann = make_user("ann", "annotator", password=True)
        campaign = make_campaign(make_dataset(n, image_root=tmp_path), [ann], overlap=1, control_share=0)
        page, base = browser_page, live_server.url
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", "ann")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.goto(f"{base}/audit/campaigns/{campaign.pk}/grade/")
        page.wait_for_selector("#grader[data-state=item]")
        return page, ann, campaign

    return open_page


def shown(page) -> str:
    return page.get_attribute("#grader", "data-label")


def on_screen(page) -> str:
    """The item the annotator sees once one is shown (while loading, the label is the last item's)."""
    page.wait_for_selector("#grader[data-state=item]")
    return shown(page)


def press(page, key: str) -> None:
    """Once an item is on screen, press a key and wait until the page shows another item or leaves the item state."""
    page.wait_for_selector("#grader[data-state=item]")
    before = shown(page)
    page.keyboard.press(key)
    page.wait_for_function(
        "b => document.getElementById('grader').dataset.label !== b"
        " || document.getElementById('grader').dataset.state !== 'item'", arg=before)  # fmt: skip


def wait_for_label(page, label: str) -> None:
    """Wait until item ``label`` is on screen; on a timeout, say what the page and the database held."""
    try:
        page.wait_for_function(f"document.getElementById('grader').dataset.label === '{label}'", timeout=20_000)
    except PlaywrightTimeout:
        grader = page.eval_on_selector("#grader", "g => ({...g.dataset})")
        rows = [(item_label(a.entry_id), a.state, a.annotator_id) for a in Assignment.objects.order_by("pk")]
        skips = [(item_label(s.entry_id), s.flagged, s.offered_again) for s in Skip.objects.order_by("pk")]
        raise AssertionError(f"item {label} never came on screen: page {grader}, message "
                             f"{page.inner_text('#message')!r}, assignments {rows}, skips {skips}") from None


def stored(wait_for, count: int) -> None:
    wait_for(lambda: Assessment.objects.count() == count, timeout=10, what=f"{count} stored grades")


def test_the_end_of_the_queue_shows_only_the_end_card_and_keys_do_nothing(grading, wait_for):
    page, ann, campaign = grading(3)
    assert page.is_visible("#workspace") and not page.is_visible("#loading-view")
    for _ in range(3):
        press(page, "Digit1")
    page.wait_for_selector("#grader[data-state=end]")
    stored(wait_for, 3)
    assert page.is_visible("#done") and not page.is_visible("#workspace")
    assert not page.is_visible("#item-image") and not page.is_visible("button[data-grade=high]")
    page.wait_for_selector("#tally[data-graded='3']")
    assert "3 graded, 0 skipped, 0 flagged" in page.inner_text("#tally")
    for key in ("Digit1", "Digit3", "KeyS", "KeyF"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert Assessment.objects.count() == 3 and not Skip.objects.exists()
    assert page.get_attribute("#grader", "data-state") == "end"
    # A reload lands on the end card too, not on an empty item with a broken image.
    page.reload()
    page.wait_for_selector("#grader[data-state=end]")
    assert page.is_visible("#done") and not page.is_visible("#workspace") and not page.is_visible("#item-image")


def test_a_held_key_grades_one_item_and_a_numpad_key_without_numlock_grades_none(grading, wait_for):
    page, ann, _ = grading(8)
    page.wait_for_selector("#grader[data-buffered='3']")
    first = shown(page)
    page.keyboard.down("Digit2")  # auto-repeat: the same keydown again and again, with event.repeat set
    for _ in range(5):
        page.keyboard.down("Digit2")
    page.keyboard.up("Digit2")
    stored(wait_for, 1)
    page.wait_for_timeout(300)
    assert Assessment.objects.get().grade == "moderate" and Assessment.objects.count() == 1
    second = shown(page)
    assert second != first
    # NumLock off: the numpad's 1 key sends code Numpad1 but key "End"; it must not grade.
    page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {code: 'Numpad1', key: 'End', bubbles: true}))")
    page.wait_for_timeout(300)
    assert shown(page) == second and Assessment.objects.count() == 1
    page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {code: 'Numpad1', key: '1', bubbles: true}))")
    stored(wait_for, 2)
    assert Assessment.objects.filter(grade="high").count() == 1


def test_cancelling_the_flag_dialog_keeps_the_item_and_stores_nothing(grading, wait_for):
    page, ann, _ = grading(4)
    item = shown(page)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.keyboard.press("KeyF")
    page.wait_for_selector("#message:has-text('Flag cancelled')")
    page.wait_for_timeout(300)
    assert shown(page) == item and page.get_attribute("#grader", "data-state") == "item"
    assert not Skip.objects.exists() and not Assessment.objects.exists()
    page.once("dialog", lambda dialog: dialog.accept("the image is missing"))
    press(page, "KeyF")
    assert shown(page) != item
    wait_for(lambda: Skip.objects.filter(flagged=True, reason="the image is missing").exists(), timeout=10,
             what="the flag stored")  # fmt: skip


def test_undo_brings_back_grade_categories_comment_and_post_edit_two_steps_back(grading, wait_for):
    page, ann, _ = grading(6)
    first = shown(page)
    page.keyboard.press("Digit4")  # meaning changed
    page.keyboard.press("Digit8")  # grammar or fluency
    page.keyboard.press("KeyC")
    page.keyboard.type("le sens 1 2 3 change")  # digits typed in a text box never grade
    assert page.evaluate("document.activeElement.id") == "comment" and shown(page) == first
    page.keyboard.press("Escape")  # leaves the box: keys act again
    page.keyboard.press("KeyE")
    assert page.evaluate("document.activeElement.id") == "pe-0"
    page.fill("#pe-1", "Non, elle est bleue.\nEt ronde.")
    page.keyboard.press("Escape")  # leaves the box: the next key grades
    press(page, "Digit2")
    second = shown(page)
    page.keyboard.press("Digit5")  # answer no longer fits the image
    press(page, "Digit3")
    stored(wait_for, 2)
    assert Assessment.objects.get(grade="moderate").post_edit[1] == "Non, elle est bleue.\nEt ronde."

    press(page, "KeyU")
    page.wait_for_function(f"document.getElementById('grader').dataset.label === '{second}'")
    assert page.get_attribute("#grader", "data-previous-grade") == "low"
    assert pressed(page) == ["image_fit"]
    press(page, "Backspace")
    page.wait_for_function(f"document.getElementById('grader').dataset.label === '{first}'")
    assert page.get_attribute("#grader", "data-previous-grade") == "moderate"
    assert pressed(page) == ["meaning", "fluency"]
    assert page.input_value("#comment") == "le sens 1 2 3 change"
    assert page.input_value("#pe-1") == "Non, elle est bleue.\nEt ronde." and page.is_visible("#pe-1")
    assert not Assessment.objects.exists()
    # The undone items come back in order: first, then second, then what was next.
    press(page, "Digit1")
    assert shown(page) == second
    stored(wait_for, 1)
    again = Assessment.objects.get()
    assert (again.grade, again.categories, again.comment) == ("high", ["fluency", "meaning"], "le sens 1 2 3 change")


def pressed(page) -> list[str]:
    return page.eval_on_selector_all(".toggle[aria-pressed=true]", "nodes => nodes.map(n => n.dataset.category)")


def test_skipped_items_come_back_at_the_end_and_the_end_card_counts_them(grading, wait_for):
    page, ann, _ = grading(5)
    skipped = on_screen(page)
    press(page, "KeyS")
    page.once("dialog", lambda dialog: dialog.accept("two questions in one"))
    flagged = on_screen(page)
    press(page, "KeyF")
    graded = []
    for _ in range(3):
        graded.append(on_screen(page))
        press(page, "Digit1")
    # Everything else graded: the skipped item comes back, last; the flagged one does not.
    wait_for_label(page, skipped)
    assert skipped not in graded and flagged not in graded + [skipped]
    press(page, "KeyS")  # skipped a second time: set aside for good
    page.wait_for_selector("#grader[data-state=end]")
    page.wait_for_selector("#tally[data-graded='3']")
    assert page.inner_text("#tally").startswith("3 graded, 1 skipped, 1 flagged.")
