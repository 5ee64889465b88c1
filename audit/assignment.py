"""The one place that decides who grades what: `next_assignment`.

Every entry has exactly k slots (audit.models.Assignment). On PostgreSQL leasing a
slot is ONE statement, `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id`, walking the partial index assignment_queue_idx in queue order, so
concurrent annotators never wait on each other's rows and never get the same slot; on
SQLite (no row locks) a conditional UPDATE of the row read first serialises them. The
partial unique constraint on (entry, annotator) is the last word on "never the same
annotator twice". A lease lasts Campaign.lease_minutes; an expired lease is simply a
slot the next caller may take, and its former holder's grade is refused (grading.py).

Control items are spread evenly through each annotator's queue: the i-th item served
is a control when floor((i + 1) * share + phase) grows, phase being per annotator, so
controls come every 1/share items, not in clumps, and not at the same places for all.
A control and its original (the real translation it corrupts) are kept CONTROL_DISTANCE
items apart in each annotator's own sequence (Assignment.serial): a control is not served
within that distance after its original, and an original is held back for that distance
after its control, unless nothing else is left.

A skipped item comes back to its annotator once, after everything else (claim_skipped);
a flagged one, or one skipped twice, never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from config.database import is_postgresql

from . import prepared
from .models import Assignment, Campaign, Entry, Membership, Skip
from .payloads import item_payload, load_assignment, shape_item

MAX_HELD = 6
"""Live leases one annotator may hold in a campaign: the item on screen, the three the
grading page prefetches behind it (static/audit/grade.js, DEPTH), and two whose grades are
still on their way. More would hoard work from others."""

CONTROL_DISTANCE = 20
"""Items an annotator is served between a control and its original, either way round."""


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
    serial = membership.served
    slot = _claim(campaign, annotator, want_control, now, serial)
    if slot is None and want_control:
        slot = _claim(campaign, annotator, False, now, serial)  # no control fits now: carry on with real items
    if slot is None:  # only originals of recent controls are left: better close than nothing
        slot = _claim(campaign, annotator, False, now, serial, spaced=False)
    if slot is None:
        slot = claim_skipped(campaign.pk, annotator.pk, campaign.lease_minutes, serial, now)
    if slot is None:
        return None
    membership.served += 1
    membership.controls_served += slot.is_control
    membership.save(update_fields=["served", "controls_served"])
    return slot


def _claim(campaign: Campaign, annotator: User, is_control: bool, now: datetime, serial: int, *,
           spaced: bool = True) -> Assignment | None:  # fmt: skip
    until = now + timedelta(minutes=campaign.lease_minutes)
    if is_postgresql():
        return _claim_in_one_statement(campaign, annotator, is_control, now, until, serial, spaced)
    mine = Assignment.objects.filter(entry_id=OuterRef("entry_id"), annotator=annotator)
    skipped = Skip.objects.filter(entry_id=OuterRef("entry_id"), annotator=annotator)
    candidates = (
        Assignment.objects.filter(campaign=campaign, is_control=is_control,
                                  state__in=[Assignment.State.OPEN, Assignment.State.LEASED])  # fmt: skip
        .filter(Q(state=Assignment.State.OPEN) | Q(leased_until__lte=now))
        .exclude(Exists(mine))
        .exclude(Exists(skipped))
        .order_by("position", "slot")
    )
    if spaced:
        candidates = candidates.exclude(**_too_close(campaign, annotator, is_control, serial))
    for _attempt in range(3):
        slot = candidates.first()
        if slot is None:
            return None
        # Conditional update: only if nobody changed the slot since we read it.
        claimed = Assignment.objects.filter(
            pk=slot.pk, state=slot.state, annotator_id=slot.annotator_id, leased_until=slot.leased_until
        ).update(state=Assignment.State.LEASED, annotator=annotator, leased_at=now, leased_until=until, serial=serial)
        if claimed:
            slot.state, slot.annotator, slot.leased_at, slot.leased_until = Assignment.State.LEASED, annotator, now, until
            slot.serial = serial
            return slot
    return None


def _too_close(campaign: Campaign, annotator: User, is_control: bool, serial: int) -> dict[str, Any]:
    """The ORM twin of SPACING_SQL: candidates whose counterpart this annotator was served lately."""
    recent = Assignment.objects.filter(campaign=campaign, annotator=annotator, is_control=not is_control,
                                       serial__gt=serial - CONTROL_DISTANCE)  # fmt: skip
    if is_control:  # a control whose original was served lately
        return {"entry__translation_id__in": recent.values("entry__translation_id")}
    originals = Entry.objects.filter(campaign=campaign, is_control=False,
                                     translation_id__in=recent.values("entry__translation_id"))  # fmt: skip
    return {"entry_id__in": originals.values("id")}


def claim_skipped(campaign_id: int, annotator_id: int, lease_minutes: int, serial: int,
                  now: datetime) -> Assignment | None:  # fmt: skip
    """Lease back an item the annotator skipped (not flagged), oldest skip first, once each.

    Called when nothing else is left for them, on both paths (rare, so plain ORM). An
    entry whose slots others took meanwhile cannot come back: it stays counted as skipped.
    """
    until = now + timedelta(minutes=lease_minutes)
    skips = Skip.objects.filter(annotator_id=annotator_id, entry__campaign_id=campaign_id, flagged=False,
                                offered_again=False).order_by("created_at", "pk")  # fmt: skip
    for skip in skips:
        if Assignment.objects.filter(entry_id=skip.entry_id, annotator_id=annotator_id).exists():
            continue
        free = (
            Assignment.objects.filter(entry_id=skip.entry_id,
                                      state__in=[Assignment.State.OPEN, Assignment.State.LEASED])  # fmt: skip
            .filter(Q(state=Assignment.State.OPEN) | Q(leased_until__lte=now))
            .order_by("slot")
        )
        for slot in free[:3]:
            claimed = Assignment.objects.filter(
                pk=slot.pk, state=slot.state, annotator_id=slot.annotator_id, leased_until=slot.leased_until
            ).update(state=Assignment.State.LEASED, annotator_id=annotator_id, leased_at=now, leased_until=until,
                     serial=serial)  # fmt: skip
            if claimed:
                Skip.objects.filter(pk=skip.pk).update(offered_again=True)
                slot.state, slot.annotator_id, slot.leased_at, slot.leased_until = (
                    Assignment.State.LEASED, annotator_id, now, until)
                slot.serial = serial
                return slot
    return None


# The first free slot in queue order, leased in the same statement. The inner SELECT
# walks the partial index assignment_queue_idx (campaign, is_control, position, slot)
# and stops at the first row that is free, not locked by a concurrent claim, and of an
# entry this annotator neither holds nor skipped. "Holds" is a scalar subquery, not NOT
# EXISTS, on purpose: PostgreSQL turns NOT EXISTS into an anti join and, with statistics
# taken before anyone graded, read every leased or done slot of the campaign per claim
# (EXPLAIN at 1,000,000 translations); the scalar subquery stays one probe of the unique
# (entry, annotator) index per candidate row. The skip check stays NOT EXISTS: skips are
# few, and a second scalar subquery makes the planner's row estimate so small that the
# plan's cost crosses jit_above_cost and every claim paid ~25 ms of JIT compilation.
# A row another transaction leased meanwhile is re-checked against the WHERE before it
# is locked, so only a free slot can be leased. Written by hand: it is the hot path, and
# building it with the ORM cost more than running it.
_CLAIM = """
UPDATE audit_assignment SET state = 'leased', annotator_id = %(annotator)s, leased_at = %(now)s,
       leased_until = %(until)s, serial = %(serial)s
 WHERE id = (
       SELECT a.id FROM audit_assignment a
        WHERE a.campaign_id = %(campaign)s AND a.is_control = {is_control} AND a.state IN ('open', 'leased')
          AND (a.state = 'open' OR a.leased_until <= %(now)s)
          AND (SELECT m.id FROM audit_assignment m WHERE m.entry_id = a.entry_id
                                                     AND m.annotator_id = %(annotator)s) IS NULL
          AND NOT EXISTS (SELECT 1 FROM audit_skip s WHERE s.entry_id = a.entry_id AND s.annotator_id = %(annotator)s)
          {spacing}
        ORDER BY a.position, a.slot
        LIMIT 1
          FOR UPDATE SKIP LOCKED)
RETURNING id, entry_id, slot, position
"""
# Spacing (CONTROL_DISTANCE). A real item: not the original of a control this annotator was
# served lately; an uncorrelated ARRAY, computed once per statement from the partial index
# assignment_control_serial_idx (usually empty), so the queue walk stays as it was. A control
# (rare claims, separate statement): not one whose original they were served lately.
_HOLD_BACK_ORIGINALS = """AND a.entry_id <> ALL(ARRAY(
              SELECT o.id FROM audit_assignment c JOIN audit_entry ce ON ce.id = c.entry_id
                JOIN audit_entry o ON o.campaign_id = ce.campaign_id AND o.translation_id = ce.translation_id
                                  AND NOT o.is_control
               WHERE c.annotator_id = %(annotator)s AND c.campaign_id = %(campaign)s AND c.is_control
                 AND c.serial > %(serial)s - %(distance)s))"""
_CONTROL_AWAY = """AND NOT EXISTS (
              SELECT 1 FROM audit_entry ce JOIN audit_entry o ON o.campaign_id = ce.campaign_id
                                         AND o.translation_id = ce.translation_id AND NOT o.is_control
                JOIN audit_assignment m ON m.entry_id = o.id AND m.annotator_id = %(annotator)s
               WHERE ce.id = a.entry_id AND m.serial > %(serial)s - %(distance)s)"""
CLAIM_SQL = _CLAIM.format(is_control="false", spacing=_HOLD_BACK_ORIGINALS)
CLAIM_CONTROL_SQL = _CLAIM.format(is_control="true", spacing=_CONTROL_AWAY)
CLAIM_UNSPACED_SQL = _CLAIM.format(is_control="false", spacing="")


def _claim_sql(is_control: bool, spaced: bool) -> str:
    return CLAIM_CONTROL_SQL if is_control else (CLAIM_SQL if spaced else CLAIM_UNSPACED_SQL)


def _claim_in_one_statement(campaign: Campaign, annotator: User, is_control: bool, now: datetime,
                            until: datetime, serial: int, spaced: bool) -> Assignment | None:  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(is_control, spaced), {
            "annotator": annotator.pk, "now": now, "until": until, "campaign": campaign.pk, "serial": serial,
            "distance": CONTROL_DISTANCE})  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        return None
    pk, entry_id, slot, position = row
    return Assignment(
        pk=pk, campaign=campaign, entry_id=entry_id, slot=slot, position=position, is_control=is_control,
        state=Assignment.State.LEASED, annotator=annotator, leased_at=now, leased_until=until, serial=serial,
    )  # fmt: skip


# --- The same decision in prepared statements, for the lean grading path -----------------
# audit/grade_next.py calls lease_next_item inside its grading transaction. It follows
# _next step by step: the grade's write statement has already locked the membership and
# read its counters with the held leases (HELD_SQL, so the lock costs no round trip of
# its own); hand back a held lease not excluded, stop at MAX_HELD, else claim with
# CLAIM_SQL, bump the counters and read the item, all in one statement.

HELD_SQL = """ARRAY(SELECT a.id FROM audit_assignment a
              WHERE a.campaign_id = %(campaign)s AND a.annotator_id = %(annotator)s AND a.state = 'leased'
                AND a.leased_until > %(now)s AND a.id <> %(assignment)s
              ORDER BY a.leased_at, a.id)"""
"""The annotator's live leases, oldest first, but for %(assignment)s: the slot being graded, which
the same statement marks done and which its snapshot still shows leased."""


@dataclass(frozen=True)
class MemberRow:
    """The locked membership, as the grading write returns it."""

    id: int
    served: int
    controls_served: int
    control_phase: float
    held: list[int]


ITEM_COLUMNS = """e.id, e.control_turns::text, t.turns::text, t.meta::text, i.conversations::text, i.meta::text,
       i.task_type, i.image <> ''"""
ITEM_JOINS = """JOIN audit_entry e ON e.id = a.entry_id JOIN translation_translation t ON t.id = e.translation_id
  JOIN audit_item i ON i.id = t.item_id"""

_CLAIM_ITEM = """
WITH a AS ({claim}),
counted AS (UPDATE audit_membership
               SET served = served + 1, controls_served = controls_served + {controls}
             WHERE id = %(membership)s AND EXISTS (SELECT 1 FROM a))
SELECT a.id, %(until)s::timestamptz, {columns} FROM a {joins}
"""
CLAIM_ITEM_SQL, CLAIM_CONTROL_ITEM_SQL, CLAIM_UNSPACED_ITEM_SQL = (
    _CLAIM_ITEM.format(claim=claim, controls=controls, columns=ITEM_COLUMNS, joins=ITEM_JOINS)
    for claim, controls in ((CLAIM_SQL, 0), (CLAIM_CONTROL_SQL, 1), (CLAIM_UNSPACED_SQL, 0))
)

HELD_ITEM_SQL = f"""
SELECT a.id, a.leased_until, {ITEM_COLUMNS} FROM audit_assignment a {ITEM_JOINS} WHERE a.id = %(lease)s
"""


def lease_next_item(campaign: CampaignRow, annotator_id: int, member: MemberRow, exclude: set[int],
                    now: datetime) -> dict[str, Any] | None:  # fmt: skip
    """The next item's payload, or None, on PostgreSQL.

    Call inside the transaction that locked ``member`` (audit/grade_next.py's write statement).
    """
    for lease in member.held:
        if lease not in exclude:
            return _item(prepared.run(HELD_ITEM_SQL, {"lease": lease}).fetchone())
    if len(member.held) >= MAX_HELD:
        return None
    want_control = control_due(member.served, member.controls_served, campaign.control_share, member.control_phase)
    params = {"annotator": annotator_id, "now": now, "until": now + timedelta(minutes=campaign.lease_minutes),
              "campaign": campaign.id, "membership": member.id, "serial": member.served,
              "distance": CONTROL_DISTANCE}  # fmt: skip
    item = prepared.run(CLAIM_CONTROL_ITEM_SQL if want_control else CLAIM_ITEM_SQL, params).fetchone()
    if item is None and want_control:  # no control fits now: carry on with real items
        item = prepared.run(CLAIM_ITEM_SQL, params).fetchone()
    if item is None:  # the same fallbacks as _next, in the same order (the end of the queue only)
        item = prepared.run(CLAIM_UNSPACED_ITEM_SQL, params).fetchone()
    if item is None:
        slot = claim_skipped(campaign.id, annotator_id, campaign.lease_minutes, member.served, now)
        if slot is None:
            return None
        Membership.objects.filter(pk=member.id).update(served=F("served") + 1)
        return item_payload(load_assignment(slot.pk))
    return _item(item)


@dataclass(frozen=True)
class CampaignRow:
    """What the lean path knows of a campaign, read with the lease it grades."""

    id: int
    name: str
    control_share: float
    lease_minutes: int
    overlap: int
    size: int


def _item(row: tuple) -> dict[str, Any]:
    assignment, until, entry, control_turns, turns, translation_meta, conversations, item_meta, task_type, image = row
    return shape_item(
        assignment=assignment, entry=entry, leased_until=until, task_type=task_type, has_image=image,
        conversations=orjson.loads(conversations), target=_json(control_turns) or orjson.loads(turns),
        item_meta=orjson.loads(item_meta), translation_meta=orjson.loads(translation_meta),
    )  # fmt: skip


def _json(text: str | None) -> Any:
    return orjson.loads(text) if text is not None else None
