"""The adjudication queue as the one-item-at-a-time page reads it: filters, order, one item.

The page (audit/views_campaigns.py `adjudication_page`) shows one pending disagreement
at a time; this module says which ones are pending under the reviewer's filters, in
which order (oldest first, as `campaign_stats.pending_adjudications` and the REST API
list them), and what one of them looks like: turns, image, every grade with its
post-edit diffed against the translation. The write itself is `grading.do_adjudicate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from catalog.models import Item

from .disagreements import KINDS, Disagreement, disagreement, word_diff
from .models import Assessment, Campaign, Entry, PendingAdjudication

CATEGORY_LABELS = dict(Assessment.Category.choices)
SPEAKERS = {"human": "Question", "gpt": "Answer"}


class FilterError(ValueError):
    """A query parameter of the page is not understood; ``field`` names it (the page answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Pending:
    entry_id: int
    task_type: str
    disagreement: Disagreement


@dataclass(frozen=True)
class QueueFilter:
    """Which pending items the reviewer wants to see: a task type, a kind, a spread (all optional).

    A campaign audits one dataset, so "by dataset" narrows nothing inside it; the task
    type (the campaign's stratum) is the grouping reviewers ask for instead.
    """

    task: str = ""
    kind: str = ""
    spread: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> QueueFilter:
        task = query.get("task", "") or ""
        if task and task not in Item.TaskType.values:
            raise FilterError("task", f"unknown task type {task!r}; expected one of: {', '.join(Item.TaskType.values)}")
        kind = query.get("kind", "") or ""
        if kind and kind not in KINDS:
            raise FilterError("kind", f"unknown disagreement kind {kind!r}; expected one of: {', '.join(KINDS)}")
        spread_text = query.get("spread", "") or ""
        if spread_text not in ("", "1", "2"):
            raise FilterError("spread", f"expected 1 (neighbouring grades) or 2 (high against low), got {spread_text!r}")
        return cls(task, kind, int(spread_text) if spread_text else None)

    def matches(self, pending: Pending) -> bool:
        return (
            (not self.task or pending.task_type == self.task)
            and (not self.kind or pending.disagreement.kind == self.kind)
            and (self.spread is None or pending.disagreement.spread == self.spread)
        )

    def params(self) -> dict[str, str]:
        values = {"task": self.task, "kind": self.kind, "spread": "" if self.spread is None else str(self.spread)}
        return {key: value for key, value in values.items() if value}

    def url_query(self, **extra: Any) -> str:
        """The query string that keeps these filters (and adds ``extra``), with its leading "?"; "" if none."""
        params = {**self.params(), **{k: str(v) for k, v in extra.items() if v is not None}}
        return "?" + urlencode(params) if params else ""


def pending_queue(campaign: Campaign) -> list[Pending]:
    """Every pending disagreement of the campaign, oldest first, with its kind and spread.

    Two queries whatever the queue length: the pending entries, then their grades.
    """
    rows = list(
        PendingAdjudication.objects.filter(entry__campaign=campaign)
        .order_by("created_at", "pk")
        .values_list("entry_id", "entry__stratum")
    )
    grades: dict[int, list[str]] = defaultdict(list)
    in_queue = Assessment.objects.filter(entry__campaign=campaign, entry__pending__isnull=False)
    for entry_id, grade in in_queue.values_list("entry_id", "grade"):
        grades[entry_id].append(grade)
    return [Pending(entry_id, stratum, disagreement(grades[entry_id])) for entry_id, stratum in rows]


def facets(queue: list[Pending]) -> dict[str, list[tuple[str, int]]]:
    """The values each filter can take in this queue, with how many items have them."""
    counts: dict[str, dict[str, int]] = {"task": defaultdict(int), "kind": defaultdict(int), "spread": defaultdict(int)}
    for p in queue:
        counts["task"][p.task_type] += 1
        counts["kind"][p.disagreement.kind] += 1
        counts["spread"][str(p.disagreement.spread)] += 1
    return {name: sorted(values.items()) for name, values in counts.items()}


def adjudication_item(entry: Entry) -> dict[str, Any]:
    """One translation as the reviewer sees it: turns, image, and every grade with its post-edit diff."""
    item = entry.translation.item
    targets = [t.get("value", "") for t in entry.translation.turns]
    turns = [
        {"speaker": SPEAKERS.get(s.get("from", ""), s.get("from", "")), "source": s.get("value", ""), "target": target}
        for s, target in zip(item.conversations, targets)
    ]
    grades = []
    for a in Assessment.objects.filter(entry=entry).select_related("annotator").order_by("pk"):
        edits = []
        for index, (target, edited) in enumerate(zip(targets, a.post_edit or [])):
            if edited != target:
                edits.append({"turn": index + 1, "speaker": turns[index]["speaker"], "runs": word_diff(target, edited)})
        grades.append({
            "assessment": a.pk, "annotator": a.annotator.username, "grade": a.grade,
            "categories": [CATEGORY_LABELS.get(c, c) for c in a.categories], "comment": a.comment,
            "has_post_edit": bool(edits), "edits": edits,
        })  # fmt: skip
    return {
        "entry": entry.pk, "item": item.external_id, "task_type": entry.stratum, "has_image": bool(item.image),
        "turns": turns, "grades": grades,
    }  # fmt: skip
