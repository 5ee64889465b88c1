"""What the grading page and the REST API show of an item: one shape for both.

A control item looks exactly like any other item here (its corrupted turns replace
the translation's), so nothing tells an annotator that it is a control.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, Sum
from django.urls import reverse

from .models import Assignment, Campaign, Membership


def item_payload(assignment: Assignment) -> dict[str, Any]:
    entry = assignment.entry
    translation = entry.translation
    item = translation.item
    target = entry.control_turns or translation.turns
    turns = [
        {"role": "question" if src.get("from") == "human" else "answer", "source": src.get("value", ""),
         "target": tgt.get("value", "")}  # fmt: skip
        for src, tgt in zip(item.conversations, target)
    ]
    choices = None
    if item.meta.get("choices"):
        target_choices = translation.meta.get("choices") or []
        choices = [
            {"source": source, "target": target_choices[i] if i < len(target_choices) else ""}
            for i, source in enumerate(item.meta["choices"])
        ]
    return {
        "assignment": assignment.pk,
        "entry": entry.pk,
        "lease_until": assignment.leased_until.isoformat() if assignment.leased_until else None,
        "task_type": item.task_type,
        "image_url": reverse("audit:entry_image", args=[entry.pk]) if item.image else None,
        "turns": turns,
        "choices": choices,
        "answer_index": item.meta.get("answer_index", item.meta.get("answer") if choices else None),
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
    done, mine = sums["total"] or 0, sums["mine"] or 0
    total = campaign.size * campaign.overlap
    return {"mine": mine, "campaign_done": done, "campaign_total": total, "remaining": max(total - done, 0)}
