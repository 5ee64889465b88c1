"""next_assignment: leases, overlap k, never the same annotator twice, expiry, evenly spread controls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.assignment import MAX_HELD, NotInCampaign, control_due, next_assignment
from audit.grading import do_grade
from audit.models import Assessment, Assignment, Entry

pytestmark = pytest.mark.django_db


def grade_all(campaign, user, grade="high"):
    graded = []
    while (lease := next_assignment(campaign, user)) is not None:
        do_grade(lease.pk, {"grade": grade}, annotator=user)
        graded.append(lease.entry_id)
    return graded


def test_each_translation_gets_exactly_k_grades_from_different_annotators():
    dataset = make_dataset(12)
    people = [make_user(f"a{i}", "annotator") for i in range(3)]
    campaign = make_campaign(dataset, people, overlap=2, control_share=0)
    done = {user.username: grade_all(campaign, user) for user in people}
    per_entry = {}
    for user, entries in done.items():
        assert len(entries) == len(set(entries)), f"{user} graded an item twice"
        for entry in entries:
            per_entry.setdefault(entry, []).append(user)
    assert len(per_entry) == 12 and all(len(graders) == 2 for graders in per_entry.values())
    assert Assessment.objects.count() == 24


def test_a_lease_is_returned_until_graded_and_at_most_a_few_are_held():
    dataset = make_dataset(10)
    ann, other = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, other], control_share=0)
    first = next_assignment(campaign, ann)
    assert next_assignment(campaign, ann).pk == first.pk  # reloading the page shows the same item
    held = [first.pk]
    while len(held) < MAX_HELD:
        held.append(next_assignment(campaign, ann, exclude=held).pk)
    assert len(set(held)) == MAX_HELD
    assert next_assignment(campaign, ann, exclude=held) is None  # no hoarding


def test_an_expired_lease_returns_the_item_to_the_pool_and_its_grade_is_refused():
    from audit.grading import GradingError

    dataset = make_dataset(1)
    ann, bob, cat = (make_user(n, "annotator") for n in ("ann", "bob", "cat"))
    campaign = make_campaign(dataset, [ann, bob, cat], overlap=2, control_share=0, lease_minutes=15)
    lease_a = next_assignment(campaign, ann)
    lease_b = next_assignment(campaign, bob)
    assert next_assignment(campaign, cat) is None  # both slots leased
    later = timezone.now() + timedelta(minutes=16)
    lease_c = next_assignment(campaign, cat, now=later)
    assert lease_c is not None and lease_c.pk in (lease_a.pk, lease_b.pk)
    loser = ann if lease_c.pk == lease_a.pk else bob
    with pytest.raises(GradingError) as refused:
        do_grade(lease_c.pk, {"grade": "low"}, annotator=loser, now=later)
    assert refused.value.status in (403, 409)
    assert not Assessment.objects.filter(annotator=loser).exists()


def test_non_members_get_nothing():
    dataset = make_dataset(3)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann], overlap=1, control_share=0)
    with pytest.raises(NotInCampaign):
        next_assignment(campaign, bob)


def test_k_larger_than_the_team_is_a_validation_error_and_writes_nothing():
    dataset = make_dataset(3)
    ann = make_user("ann", "annotator")
    with pytest.raises(ValidationError) as error:
        make_campaign(dataset, [ann], overlap=2)
    assert "overlap k=2 needs at least 2 annotators" in str(error.value)
    assert not Entry.objects.exists() and not Assignment.objects.exists()


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25])
def test_control_schedule_is_evenly_spaced(share):
    served, controls, positions = 0, 0, []
    for index in range(400):
        if control_due(served, controls, share, 0.37):
            controls += 1
            positions.append(index)
        served += 1
    gaps = {b - a for a, b in zip(positions, positions[1:])}
    assert abs(controls - 400 * share) <= 1
    assert max(gaps) - min(gaps) <= 1  # every 1/share items, never two in a row


def test_controls_reach_each_annotator_spread_through_their_queue():
    dataset = make_dataset(120)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0.1)
    controls = Entry.objects.filter(campaign=campaign, is_control=True)
    assert controls.exists() and all(e.control_turns != e.translation.turns for e in controls)
    sequence = []
    for _ in range(60):
        lease = next_assignment(campaign, ann)
        sequence.append(lease.is_control)
        do_grade(lease.pk, {"grade": "low"}, annotator=ann)
    where = [i for i, is_control in enumerate(sequence) if is_control]
    assert 5 <= len(where) <= 7
    assert all(b - a >= 9 for a, b in zip(where, where[1:]))
