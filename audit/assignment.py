"""The one place that decides who grades what: `next_assignment`.

Every entry has exactly k slots (audit.models.Assignment). Leasing a slot is a
conditional UPDATE of a row picked with SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, so concurrent annotators never wait on each other's rows and never get the
same slot; on SQLite (no row locks) the same conditional UPDATE serialises them. The
partial unique constraint on (entry, annotator) is the last word on "never the same
annotator twice". A lease lasts Campaign.lease_minutes; an expired lease is simply a
slot the next caller may take, and its former holder's grade is refused (grading.py).

Control items are spread evenly through each annotator's queue: the i-th item served
is a control when floor((i + 1) * share + phase) grows, phase being per annotator, so
controls come every 1/share items, not in clumps, and not at the same places for all.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Assignment, Campaign, Membership, Skip

MAX_HELD = 3
"""Live leases one annotator may hold in a campaign: the item on screen, the one
prefetched behind it, and one in flight. More would hoard work from others."""


class NotInCampaign(Exception):
    pass


def control_due(served: int, controls_served: int, share: float, phase: float) -> bool:
    """Whether the next item (index ``served``) should be a control."""
    return share > 0 and controls_served < math.floor((served + 1) * share + phase)


def live_leases(campaign: Campaign, annotator: User, now: datetime):
    return Assignment.objects.filter(
        campaign=campaign, annotator=annotator, state=Assignment.State.LEASED, leased_until__gt=now
    ).order_by("leased_at", "pk")


def next_assignment(
    campaign: Campaign, annotator: User, *, exclude: tuple[int, ...] | list[int] = (), now: datetime | None = None
) -> Assignment | None:
    """The annotator's next item: a live lease they hold (not in ``exclude``), else a newly leased slot.

    ``exclude`` lists the assignments the caller already shows or has prefetched.
    Returns None when the campaign has nothing left for this annotator or they hold
    MAX_HELD live leases already. Raises NotInCampaign for non-members.
    """
    now = now or timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return _next(campaign, annotator, set(exclude), now)
        except IntegrityError:
            continue  # SQLite only: a racing request leased a sibling slot; look again
    return None


def _next(campaign: Campaign, annotator: User, exclude: set[int], now: datetime) -> Assignment | None:
    # Locking the membership row serialises one annotator's own requests (a double
    # click, two tabs) without touching anyone else's.
    membership = Membership.objects.select_for_update().filter(campaign=campaign, annotator=annotator).first()
    if membership is None:
        raise NotInCampaign(f"{annotator.username} is not an annotator of campaign {campaign.name}")
    held = list(live_leases(campaign, annotator, now))
    for lease in held:
        if lease.pk not in exclude:
            return lease
    if len(held) >= MAX_HELD:
        return None
    want_control = control_due(membership.served, membership.controls_served, campaign.control_share,
                               membership.control_phase)  # fmt: skip
    slot = _claim(campaign, annotator, want_control, now)
    if slot is None and want_control:
        slot = _claim(campaign, annotator, False, now)  # controls exhausted: carry on with real items
    if slot is None:
        return None
    membership.served += 1
    membership.controls_served += slot.is_control
    membership.save(update_fields=["served", "controls_served"])
    return slot


def _claim(campaign: Campaign, annotator: User, is_control: bool, now: datetime) -> Assignment | None:
    mine = Assignment.objects.filter(entry_id=OuterRef("entry_id"), annotator=annotator)
    skipped = Skip.objects.filter(entry_id=OuterRef("entry_id"), annotator=annotator)
    candidates = (
        Assignment.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, is_control=is_control, state__in=[Assignment.State.OPEN, Assignment.State.LEASED])
        .filter(Q(state=Assignment.State.OPEN) | Q(leased_until__lte=now))
        .exclude(Exists(mine))
        .exclude(Exists(skipped))
        .order_by("position", "slot")
    )
    until = now + timedelta(minutes=campaign.lease_minutes)
    for _attempt in range(3):
        slot = candidates.first()
        if slot is None:
            return None
        # Conditional update: only if nobody changed the slot since we read it (the
        # guarantee on SQLite; on PostgreSQL the row lock already makes it certain).
        claimed = Assignment.objects.filter(
            pk=slot.pk, state=slot.state, annotator_id=slot.annotator_id, leased_until=slot.leased_until
        ).update(state=Assignment.State.LEASED, annotator=annotator, leased_at=now, leased_until=until)
        if claimed:
            slot.state, slot.annotator, slot.leased_at, slot.leased_until = Assignment.State.LEASED, annotator, now, until
            return slot
    return None
