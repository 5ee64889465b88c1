"""Grade an item and lease the next one: the grading page's hot path, in one transaction.

On PostgreSQL it costs three prepared statements (audit/prepared.py):
  1. lock the assignment and its entry, with everything the refusals need
     (membership, "already graded", the campaign, the number of turns);
  2. every write of a grade in one statement: the assessment, the slot done, the
     history row, the consensus (final grade or adjudication queue) once all k grades
     are in, and the annotator's membership: counter bumped, row locked, returned with
     the held leases and the progress figures that step 3 and the answer need;
  3. the next item (audit/assignment.py, lease_next_item): a held lease, or a claim.
The ORM path (grading.do_grade, then assignment.next_assignment) stays the reference,
runs on SQLite, and refuses with the same statuses and words (grading.check_lease).
Issue 4's figure (docs/performance.md) is why this exists: ~14 ORM statements and
~25 ms of Python per graded item capped a 2-core machine at ~27 graded items/s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.database import is_postgresql

from . import prepared
from .assignment import HELD_SQL, CampaignRow, MemberRow, lease_next_item, next_assignment
from .consensus_sql import SETTLE
from .grading import GradingError, check_lease, clean_grade, clean_key, do_grade, stored_grade
from .models import Assessment
from .payloads import item_payload, load_assignment, progress, shape_progress

# The entry is locked with the slot: the k graders of one translation queue here, so the
# one who comes last sees all k grades in statement 2 and settles the consensus.
LOCK_SQL = """
SELECT a.state, a.annotator_id, a.leased_until, a.entry_id, e.is_control,
       c.id, c.name, c.control_share, c.lease_minutes, c.overlap, c.size,
       jsonb_array_length(coalesce(nullif(nullif(e.control_turns, 'null'::jsonb), '[]'::jsonb), t.turns)),
       EXISTS (SELECT 1 FROM audit_membership m WHERE m.campaign_id = a.campaign_id AND m.annotator_id = %(annotator)s),
       EXISTS (SELECT 1 FROM audit_assessment s WHERE s.entry_id = a.entry_id AND s.annotator_id = %(annotator)s)
  FROM audit_assignment a JOIN audit_entry e ON e.id = a.entry_id JOIN audit_campaign c ON c.id = a.campaign_id
  JOIN translation_translation t ON t.id = e.translation_id
 WHERE a.id = %(assignment)s
   FOR UPDATE OF a, e
"""

# Data-modifying CTEs all run, referenced or not, and none sees another's rows. SETTLE
# (audit/consensus_sql.py) is agreement.consensus in SQL: the verdict reads the grades
# already in (stable: the entry is locked) plus this one; all k equal -> final grade,
# else the adjudication queue.
WRITE_SQL = f"""
WITH new AS (
    INSERT INTO audit_assessment (assignment_id, entry_id, annotator_id, grade, categories, post_edit, comment,
                                  seconds, client_key, created_at)
    VALUES (%(assignment)s, %(entry)s, %(annotator)s, %(grade)s, %(categories)s::jsonb, %(post_edit)s::jsonb,
            %(comment)s, %(seconds)s, %(key)s::uuid, %(now)s)
    RETURNING id),
done AS (UPDATE audit_assignment SET state = 'done' WHERE id = %(assignment)s),
member AS (UPDATE audit_membership SET graded = graded + CASE WHEN %(is_control)s THEN 0 ELSE 1 END
            WHERE campaign_id = %(campaign)s AND annotator_id = %(annotator)s
        RETURNING id, served, controls_served, control_phase, graded),
history AS (INSERT INTO audit_assessmentchange (entry_id, annotator_id, changed_by_id, action, old, new, at)
            VALUES (%(entry)s, %(annotator)s, %(annotator)s, 'grade', NULL, %(snapshot)s::jsonb, %(now)s)),
{SETTLE}
SELECT new.id, m.id, m.served, m.controls_served, m.control_phase, m.graded,
       m.graded + (SELECT coalesce(sum(x.graded), 0) FROM audit_membership x
                    WHERE x.campaign_id = %(campaign)s AND x.id <> m.id),
       {HELD_SQL}
  FROM new LEFT JOIN member m ON true
"""


def grade_and_next(assignment_id: int, data: dict[str, Any], *, annotator: User, want_next: bool,
                   exclude: set[int], now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Store the grade; return {"assessment", "grade", "progress"} and, with ``want_next``, "next".

    Raises GradingError (nothing changed) when the grade is refused. ``exclude`` lists
    the assignments the page already shows or holds in its buffer. A retry carrying the
    "key" of the grade already stored (its first answer was lost) gets that grade back.
    """
    now = now or timezone.now()
    key = clean_key(data)
    try:
        if not is_postgresql():
            return _through_orm(assignment_id, data, annotator, want_next, exclude, now)
        return _through_sql(assignment_id, data, key, annotator, want_next, exclude, now)
    except GradingError as refusal:
        stored = stored_grade(assignment_id, annotator, key) if refusal.status == 409 else None
        if stored is None:
            raise
        return _answer(stored, annotator, want_next, exclude, now)
    except IntegrityError:  # assessment_unique_client_key: the page sends a fresh key with every grade
        if key is None:
            raise
        raise GradingError(409, f"key {key} already belongs to another of your grades; send a new key", "key") from None


def _through_sql(assignment_id: int, data: dict[str, Any], key: Any, annotator: User, want_next: bool,
                 exclude: set[int], now: datetime) -> dict[str, Any]:  # fmt: skip
    with transaction.atomic():
        params = {"assignment": assignment_id, "annotator": annotator.pk}
        row = prepared.run(LOCK_SQL, params).fetchone()
        if row is None:
            raise GradingError(404, f"no assignment {assignment_id}")
        state, holder, leased_until, entry_id, is_control, *campaign_fields, n_turns, is_member, already = row
        campaign = CampaignRow(*campaign_fields)
        check_lease(
            assignment_id, annotator.pk, now, campaign_name=campaign.name, lease_minutes=campaign.lease_minutes,
            is_member=is_member, already_graded=already, state=state, holder=holder, leased_until=leased_until,
        )  # fmt: skip
        values = clean_grade(data, n_turns)
        snapshot = {name: values[name] for name in ("grade", "categories", "post_edit", "comment", "seconds")}
        written = prepared.run(WRITE_SQL, {
            **params, "entry": entry_id, "campaign": campaign.id, "is_control": is_control, "overlap": campaign.overlap,
            "grade": values["grade"], "categories": orjson.dumps(values["categories"]).decode(),
            "post_edit": None if values["post_edit"] is None else orjson.dumps(values["post_edit"]).decode(),
            "comment": values["comment"], "seconds": values["seconds"], "key": key, "now": now,
            "snapshot": orjson.dumps(snapshot).decode(),
        }).fetchone()  # fmt: skip
        assessment, membership_id, served, controls_served, phase, mine, done, held = written
        if membership_id is None:  # left the campaign since statement 1 checked
            raise GradingError(403, f"you are not an annotator of campaign {campaign.name!r}")
        body: dict[str, Any] = {"assessment": assessment, "grade": values["grade"]}
        if want_next:
            member = MemberRow(membership_id, served, controls_served, phase, held)
            body["next"] = lease_next_item(campaign, annotator.pk, member, exclude, now)
    body["progress"] = shape_progress(mine, done, size=campaign.size, overlap=campaign.overlap)
    return body


def _through_orm(assignment_id: int, data: dict[str, Any], annotator: User, want_next: bool, exclude: set[int],
                 now: datetime) -> dict[str, Any]:  # fmt: skip
    return _answer(do_grade(assignment_id, data, annotator=annotator, now=now), annotator, want_next, exclude, now)


def _answer(assessment: Assessment, annotator: User, want_next: bool, exclude: set[int],
            now: datetime) -> dict[str, Any]:  # fmt: skip
    """The answer to a grade stored through the ORM, or found again for a retry."""
    campaign = assessment.assignment.campaign  # fetched with the lease, no extra query
    body: dict[str, Any] = {"assessment": assessment.pk, "grade": assessment.grade,
                            "progress": progress(campaign, annotator.pk)}  # fmt: skip
    if want_next:
        lease = next_assignment(campaign, annotator, exclude=tuple(exclude), now=now)
        body["next"] = item_payload(load_assignment(lease.pk)) if lease else None
    return body
