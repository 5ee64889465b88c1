"""What the grading page and the REST API show of an item: one shape for both.

A control item looks exactly like any other item here (its corrupted turns replace
the translation's), so nothing tells an annotator that it is a control: not even its id,
which is its own (item_label), never its original's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.urls import reverse

from .models import Assignment, Campaign, Membership


@lru_cache(maxsize=1)
def _label_key() -> bytes:
    return hashlib.sha256(b"relecture item label:" + settings.SECRET_KEY.encode()).digest()


def item_label(entry_id: int) -> str:
    """The id an annotator sees for an entry (the page, My grades), e.g. "K7QX-2MDA".

    A keyed hash of the entry id: a control gets its own (its original's dataset id would
    give it away, and so would a plain entry id, controls being numbered after the real
    items), and none reveals queue order. Reviewers see the real item ids.
    """
    digest = hmac.new(_label_key(), str(entry_id).encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest[:5]).decode()
    return f"{text[:4]}-{text[4:]}"


def item_payload(assignment: Assignment) -> dict[str, Any]:
    entry = assignment.entry
    translation = entry.translation
    item = translation.item
    return shape_item(
        assignment=assignment.pk, entry=entry.pk, leased_until=assignment.leased_until, task_type=item.task_type,
        has_image=bool(item.image), conversations=item.conversations, target=entry.control_turns or translation.turns,
        item_meta=item.meta, translation_meta=translation.meta,
    )  # fmt: skip


def shape_item(*, assignment: int, entry: int, leased_until: datetime | None, task_type: str, has_image: bool,
               conversations: list[dict], target: list[dict], item_meta: dict,
               translation_meta: dict) -> dict[str, Any]:  # fmt: skip
    """The item as the page shows it, from plain values: audit/grade_next.py builds it from one SQL row."""
    turns = [
        {"role": "question" if src.get("from") == "human" else "answer", "source": src.get("value", ""),
         "target": tgt.get("value", "")}  # fmt: skip
        for src, tgt in zip(conversations, target)
    ]
    choices = None
    if item_meta.get("choices"):
        target_choices = translation_meta.get("choices") or []
        choices = [
            {"source": source, "target": target_choices[i] if i < len(target_choices) else ""}
            for i, source in enumerate(item_meta["choices"])
        ]
    return {
        "assignment": assignment,
        "entry": entry,
        "label": item_label(entry),
        "lease_until": leased_until.isoformat() if leased_until else None,
        "task_type": task_type,
        "image_url": reverse("audit:entry_image", args=[entry]) if has_image else None,
        "turns": turns,
        "choices": choices,
        "answer_index": item_meta.get("answer_index", item_meta.get("answer") if choices else None),
    }


def load_assignment(assignment_id: int) -> Assignment:
    return Assignment.objects.select_related("entry__translation__item").get(pk=assignment_id)


def progress(campaign: Campaign, annotator_id: int) -> dict[str, int]:
    """Grades done by this annotator, and grades done / needed in the whole campaign (controls aside).

    Summed from the per-annotator counters rather than counted over millions of slots.
    """
    sums = Membership.objects.filter(campaign=campaign).aggregate(
        total=Sum("graded"), mine=Sum("graded", filter=Q(annotator_id=annotator_id))
    )
    return shape_progress(sums["mine"] or 0, sums["total"] or 0, size=campaign.size, overlap=campaign.overlap)


def shape_progress(mine: int, done: int, *, size: int, overlap: int) -> dict[str, int]:
    total = size * overlap
    return {"mine": mine, "campaign_done": done, "campaign_total": total, "remaining": max(total - done, 0)}
