"""Write operations of the grading workflow, each in one transaction.

Grades, skips and flags, undo (the last grade, again and again, or a given one), and adjudication. Every refusal is a
GradingError carrying the HTTP status the page and the REST API answer with and a
message that says what was wrong; a refused call changes nothing. Every change to a
grade is recorded in AssessmentChange (who, when, old, new).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from api.errors import FieldError

from .agreement import consensus
from .models import (
    Assessment,
    AssessmentChange,
    Assignment,
    Campaign,
    Entry,
    FinalGrade,
    Membership,
    PendingAdjudication,
    Skip,
)  # fmt: skip

UNDO_SECONDS = 300
"""How long a grade can be taken back from the grading page (several steps back, one at a time)."""
MAX_COMMENT = 5000


class GradingError(FieldError):
    """A refused grading call; the API renders it `{"detail", "field"}` with its status (api/handler.py)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message, field, status)


def _snapshot(assessment: Assessment) -> dict[str, Any]:
    return {
        "grade": assessment.grade, "categories": assessment.categories, "post_edit": assessment.post_edit,
        "comment": assessment.comment, "seconds": assessment.seconds,
    }  # fmt: skip


def clean_grade(data: dict[str, Any], n_turns: int) -> dict[str, Any]:
    """Validate a submitted grade; GradingError(400) names the bad field."""
    grade = data.get("grade")
    if grade not in Assessment.Grade.values:
        raise GradingError(400, f"unknown grade {grade!r}; expected one of: high, moderate, low", "grade")
    categories = data.get("categories") or []
    if not isinstance(categories, list) or any(c not in Assessment.Category.values for c in categories):
        known = ", ".join(Assessment.Category.values)
        raise GradingError(400, f"unknown error category in {categories!r}; expected some of: {known}", "categories")
    post_edit = data.get("post_edit") or None
    if post_edit is not None and (
        not isinstance(post_edit, list) or len(post_edit) != n_turns or not all(isinstance(t, str) for t in post_edit)
    ):
        raise GradingError(400, f"post_edit must be a list of {n_turns} strings, one per turn", "post_edit")
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise GradingError(400, f"comment must be text of at most {MAX_COMMENT} characters", "comment")
    try:
        seconds = max(0.0, min(float(data.get("seconds") or 0), 24 * 3600.0))
    except (TypeError, ValueError):
        raise GradingError(400, "seconds must be a number", "seconds") from None
    return {"grade": grade, "categories": sorted(set(categories)), "post_edit": post_edit, "comment": comment,
            "seconds": seconds}  # fmt: skip


def clean_key(data: dict[str, Any]) -> uuid.UUID | None:
    """The grading page's key for this grade (a UUID), if it sent one; GradingError(400) if it is no UUID."""
    key = data.get("key")
    if key is None or isinstance(key, uuid.UUID):
        return key
    try:
        if not isinstance(key, str) or len(key) > 64:
            raise ValueError(key)
        return uuid.UUID(key)
    except ValueError:
        raise GradingError(400, f"key must be a UUID, got {str(key)[:64]!r}", "key") from None


def stored_grade(assignment_id: int, annotator: User, key: uuid.UUID | None) -> Assessment | None:
    """The grade already stored under ``key`` for this assignment: a retry whose first answer was lost.

    Asked only after a refusal as "already graded", so the first try costs nothing more; a
    different key (another tab, a second grade) finds nothing and the refusal stands.
    """
    if key is None:
        return None
    found = Assessment.objects.select_related("assignment__campaign")
    return found.filter(assignment_id=assignment_id, annotator=annotator, client_key=key).first()


def _held_lease(assignment_id: int, annotator: User, now: datetime, *, lock_entry: bool = False) -> Assignment:
    """The assignment, locked, if the annotator holds a live lease on it; else the reason why not.

    One query: the membership and "already graded" checks ride along as EXISTS, and with
    ``lock_entry`` the entry (with its translation) is locked in the same statement.
    """
    query = Assignment.objects.filter(pk=assignment_id).annotate(
        is_member=Exists(Membership.objects.filter(campaign_id=OuterRef("campaign_id"), annotator=annotator)),
        already_graded=Exists(Assessment.objects.filter(entry_id=OuterRef("entry_id"), annotator=annotator)),
    )
    if lock_entry:
        query = query.select_for_update(of=("self", "entry")).select_related("campaign", "entry__translation")
    else:
        query = query.select_for_update(of=("self",)).select_related("campaign")
    assignment = query.first()
    if assignment is None:
        raise GradingError(404, f"no assignment {assignment_id}")
    campaign = assignment.campaign
    check_lease(
        assignment_id, annotator.pk, now, campaign_name=campaign.name, lease_minutes=campaign.lease_minutes,
        is_member=assignment.is_member, already_graded=assignment.already_graded, state=assignment.state,
        holder=assignment.annotator_id, leased_until=assignment.leased_until,
    )  # fmt: skip
    return assignment


def check_lease(assignment_id: int, annotator_id: int, now: datetime, *, campaign_name: str, lease_minutes: int,
                is_member: bool, already_graded: bool, state: str, holder: int | None,
                leased_until: datetime | None) -> None:  # fmt: skip
    """Refuse (GradingError) unless the annotator holds a live lease on the assignment.

    Shared by the ORM path above and the lean SQL path (audit/grade_next.py), so both
    refuse with the same status and words.
    """
    if not is_member:
        raise GradingError(403, f"you are not an annotator of campaign {campaign_name!r}")
    # The EXISTS saw the database as the statement began; a grade of this very slot
    # committed while we waited for its lock shows as the slot being done and ours.
    done_by_me = state == Assignment.State.DONE and holder == annotator_id
    if already_graded or done_by_me:
        raise GradingError(409, f"you already graded this item (assignment {assignment_id}); use undo to change it")
    if holder != annotator_id:
        raise GradingError(
            403, f"assignment {assignment_id} is not assigned to you (leases last {lease_minutes} minutes)"
        )
    if state != Assignment.State.LEASED or leased_until is None or leased_until <= now:
        raise GradingError(
            409, f"your lease on assignment {assignment_id} expired at {leased_until:%H:%M:%S} UTC;"
            " the item went back to the pool",
        )


@transaction.atomic
def do_grade(assignment_id: int, data: dict[str, Any], *, annotator: User, now: datetime | None = None) -> Assessment:
    now = now or timezone.now()
    # The entry lock serialises the k graders of one translation, so exactly one of
    # them sees all k grades and settles the consensus.
    assignment = _held_lease(assignment_id, annotator, now, lock_entry=True)
    entry = assignment.entry
    values = clean_grade(data, len(entry.control_turns or entry.translation.turns))
    assessment = Assessment.objects.create(assignment=assignment, entry=entry, annotator=annotator,
                                           client_key=clean_key(data), **values)  # fmt: skip
    assignment.state = Assignment.State.DONE
    assignment.save(update_fields=["state"])
    if not entry.is_control:
        Membership.objects.filter(campaign_id=assignment.campaign_id, annotator=annotator).update(
            graded=F("graded") + 1
        )
    AssessmentChange.objects.create(
        entry=entry, annotator=annotator, changed_by=annotator, action=AssessmentChange.Action.GRADE,
        new=_snapshot(assessment),
    )  # fmt: skip
    if not entry.is_control:
        _settle(entry, assignment.campaign)
    return assessment


def _settle(entry: Entry, campaign: Campaign) -> None:
    """Once all k grades are in: the agreed grade becomes final, a disagreement waits for a reviewer."""
    grades = list(Assessment.objects.filter(entry=entry).values_list("grade", flat=True))
    if len(grades) < campaign.overlap:
        return
    agreed = consensus(grades)
    # Single-statement upserts (INSERT ... ON CONFLICT): the entry is locked, and
    # get_or_create/update_or_create would cost a savepoint and two more round trips.
    if agreed is None:
        PendingAdjudication.objects.bulk_create([PendingAdjudication(entry=entry)], ignore_conflicts=True)
    else:
        FinalGrade.objects.bulk_create(
            [FinalGrade(entry=entry, grade=agreed, source=FinalGrade.Source.CONSENSUS, decided_by=None)],
            update_conflicts=True, unique_fields=["entry"], update_fields=["grade", "source", "decided_by", "decided_at"],
        )  # fmt: skip


@transaction.atomic
def do_skip(assignment_id: int, *, annotator: User, flag: bool = False, reason: str = "",
            now: datetime | None = None) -> Skip:  # fmt: skip
    """Pass on an item; ``flag`` also reports it to reviewers.

    A plain skip comes back once, after everything else (assignment.claim_skipped); a
    flag, or skipping the item again when it comes back, sets it aside for good.
    """
    now = now or timezone.now()
    assignment = _held_lease(assignment_id, annotator, now)
    skip, created = Skip.objects.get_or_create(
        entry_id=assignment.entry_id, annotator=annotator, defaults={"flagged": flag, "reason": reason[:2000]}
    )
    if not created:  # the item came back and was skipped again
        skip.flagged = skip.flagged or flag
        skip.reason = reason[:2000] or skip.reason
        skip.offered_again = True
        skip.save(update_fields=["flagged", "reason", "offered_again"])
    if flag:
        Entry.objects.filter(pk=assignment.entry_id).update(flagged=True)
    Assignment.objects.filter(pk=assignment.pk).update(
        state=Assignment.State.OPEN, annotator=None, leased_at=None, leased_until=None
    )
    return skip


@dataclass(frozen=True)
class Undone:
    assignment: Assignment
    old: dict[str, Any]
    """The grade taken back (grade, categories, post_edit, comment, seconds): the page refills its form."""


def do_undo_last(campaign: Campaign, *, annotator: User, now: datetime | None = None) -> Assignment:
    """Take back the annotator's last grade in the campaign (within UNDO_SECONDS); the item is theirs again."""
    return do_undo(campaign, annotator=annotator, now=now).assignment


@transaction.atomic
def do_undo(campaign: Campaign, *, annotator: User, assignment_id: int | None = None,
            now: datetime | None = None) -> Undone:  # fmt: skip
    """Take back one of the annotator's grades made within UNDO_SECONDS: the last one, or that of ``assignment_id``.

    Called again, it takes back the one before, and so on: the grading page's undo stack.
    """
    now = now or timezone.now()
    grades = Assessment.objects.select_for_update(of=("self",)).filter(entry__campaign=campaign, annotator=annotator)
    if assignment_id is not None:
        last = grades.filter(assignment_id=assignment_id).first()
        if last is None:
            raise GradingError(404, f"you have no grade on assignment {assignment_id} in this campaign", "assignment")
    else:
        last = grades.order_by("-created_at", "-pk").first()
        if last is None:
            raise GradingError(404, "you have no grade to undo in this campaign")
    if last.created_at < now - timedelta(seconds=UNDO_SECONDS):
        raise GradingError(409, f"that grade is older than {UNDO_SECONDS} seconds and can no longer be undone")
    entry = Entry.objects.select_for_update().get(pk=last.entry_id)
    final = FinalGrade.objects.filter(entry=entry).first()
    if final is not None and final.source == FinalGrade.Source.ADJUDICATION:
        raise GradingError(409, "a reviewer already adjudicated this item; ask them to change the final grade")
    if final is not None:
        final.delete()
    PendingAdjudication.objects.filter(entry=entry).delete()
    old = _snapshot(last)
    AssessmentChange.objects.create(
        entry=entry, annotator=annotator, changed_by=annotator, action=AssessmentChange.Action.UNDO, old=old,
    )  # fmt: skip
    assignment = Assignment.objects.select_for_update().get(pk=last.assignment_id)
    last.delete()
    assignment.state = Assignment.State.LEASED
    assignment.leased_at = now
    assignment.leased_until = now + timedelta(minutes=campaign.lease_minutes)
    assignment.save(update_fields=["state", "leased_at", "leased_until"])
    if not entry.is_control:
        Membership.objects.filter(campaign=campaign, annotator=annotator).update(graded=F("graded") - 1)
    return Undone(assignment, old)


def tally(campaign: Campaign, annotator: User) -> dict[str, int]:
    """What the end card says: items graded (controls included: the annotator cannot tell), skipped, flagged.

    Skipped counts the plain skips still without a grade (an item that came back and was
    graded is graded); flagged counts every flag.
    """
    graded = Assessment.objects.filter(entry__campaign=campaign, annotator=annotator)
    skips = Skip.objects.filter(entry__campaign=campaign, annotator=annotator)
    return {
        "graded": graded.count(),
        "skipped": skips.filter(flagged=False).exclude(entry_id__in=graded.values("entry_id")).count(),
        "flagged": skips.filter(flagged=True).count(),
    }


@transaction.atomic
def do_adjudicate(entry_id: int, *, grade: str, reviewer: User, post_edit_of: int | None = None) -> FinalGrade:
    """A reviewer sets the final grade of a translation whose graders disagreed.

    ``post_edit_of`` names an Assessment whose post-edit becomes the final text.
    """
    if grade not in Assessment.Grade.values:
        raise GradingError(400, f"unknown grade {grade!r}; expected one of: high, moderate, low", "grade")
    entry = Entry.objects.select_for_update().filter(pk=entry_id, is_control=False).first()
    if entry is None:
        raise GradingError(404, f"no audited translation {entry_id}")
    grades = list(Assessment.objects.filter(entry=entry))
    if len(grades) < entry.campaign.overlap:
        raise GradingError(409, f"only {len(grades)} of {entry.campaign.overlap} grades are in; wait for the rest")
    final_turns = None
    if post_edit_of is not None:
        chosen = next((a for a in grades if a.pk == post_edit_of and a.post_edit), None)
        if chosen is None:
            raise GradingError(400, f"assessment {post_edit_of} has no post-edit for this item", "post_edit_of")
        final_turns = chosen.post_edit
    previous = FinalGrade.objects.filter(entry=entry).first()
    old = {"grade": previous.grade, "source": previous.source} if previous else None
    final, _ = FinalGrade.objects.update_or_create(
        entry=entry,
        defaults={"grade": grade, "source": FinalGrade.Source.ADJUDICATION, "decided_by": reviewer,
                  "final_turns": final_turns},  # fmt: skip
    )
    PendingAdjudication.objects.filter(entry=entry).delete()
    AssessmentChange.objects.create(
        entry=entry, annotator=None, changed_by=reviewer, action=AssessmentChange.Action.ADJUDICATE, old=old,
        new={"grade": grade, "post_edit_of": post_edit_of},
    )  # fmt: skip
    return final
