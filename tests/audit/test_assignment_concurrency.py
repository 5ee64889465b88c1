"""Many annotators asking for work at once, on either database: nothing over k, no pair twice, nothing lost."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.db import connections

from audit.assignment import next_assignment
from audit.grading import GradingError, do_grade
from audit.models import Assessment, Assignment, Campaign

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(target, count):
    errors: list[BaseException] = []

    def wrapped(index):
        try:
            target(index)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def test_twelve_annotators_grading_at_once_fill_every_slot_exactly_once():
    dataset = make_dataset(40)
    people = [make_user(f"a{i}", "annotator") for i in range(12)]
    campaign = make_campaign(dataset, people, overlap=3, control_share=0.05)
    accepted: list[tuple[int, int]] = []
    lock = threading.Lock()

    def annotate(index):
        user = people[index]
        fresh = Campaign.objects.get(pk=campaign.pk)
        while (lease := next_assignment(fresh, user)) is not None:
            assessment = do_grade(lease.pk, {"grade": ("high", "low")[index % 2]}, annotator=user)
            with lock:
                accepted.append((assessment.entry_id, user.pk))

    run_threads(annotate, len(people))
    pairs = list(Assessment.objects.values_list("entry_id", "annotator_id"))
    assert sorted(pairs) == sorted(accepted)  # every accepted grade is stored, nothing else
    assert len(set(pairs)) == len(pairs)  # never the same annotator twice on one item
    per_entry = Counter(Assessment.objects.filter(entry__is_control=False).values_list("entry_id", flat=True))
    assert set(per_entry.values()) == {3} and len(per_entry) == 40  # every translation graded exactly k times
    assert not Assignment.objects.exclude(state="done").filter(is_control=False).exists()


def test_the_same_annotator_in_many_tabs_never_gets_one_item_twice():
    dataset = make_dataset(24)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    outcomes: list[str] = []

    def tab(index):
        while (lease := next_assignment(campaign, ann)) is not None:
            try:
                do_grade(lease.pk, {"grade": "moderate"}, annotator=ann)
                outcomes.append("ok")
            except GradingError as exc:  # another tab graded this lease first
                assert exc.status == 409
                outcomes.append("conflict")

    run_threads(tab, 8)
    entries = list(Assessment.objects.filter(annotator=ann).values_list("entry_id", flat=True))
    assert len(entries) == len(set(entries)) == 24 == outcomes.count("ok")
