"""The balance report of a snapshot (pure Python): what the kept answers look like.

The study's finetuned models learned to answer "yes" to every POPE question, so a
skewed yes/no share is flagged (beyond 65/35), next to the answer types, the option
letters, the share of post-edited records and how much the filter removed per task type.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

YES_WORDS = frozenset({"yes", "oui"})
NO_WORDS = frozenset({"no", "non"})
SKEW_LIMIT = 0.65  # a yes share above this (or below 1 - this) gets a warning
_LETTER = re.compile(r"^\(?([A-Z])(?:[.)]|\s*$)")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?[.]?$")
_FIRST_WORD = re.compile(r"^\W*(\w+)")


def answer_type(answer: str) -> tuple[str, str | None]:
    """(type, detail): yes_no (detail yes/no), option_letter (detail the letter), number, short, long."""
    text = answer.strip()
    first = _FIRST_WORD.match(text)
    word = first.group(1).lower() if first else ""
    if word in YES_WORDS:
        return "yes_no", "yes"
    if word in NO_WORDS:
        return "yes_no", "no"
    letter = _LETTER.match(text)
    if letter:
        return "option_letter", letter.group(1)
    if _NUMBER.match(text):
        return "number", None
    return ("short", None) if len(text.split()) <= 3 else ("long", None)


class BalanceCounter:
    """Fed every candidate row of a build (kept or not); `report()` is stored on the snapshot."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()
        self.yes_no: Counter[str] = Counter()
        self.letters: Counter[str] = Counter()
        self.candidates: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()
        self.post_edited = 0

    def candidate(self, task_type: str, times: int = 1) -> None:
        self.candidates[task_type] += times

    def keep(self, task_type: str, turns: list[dict[str, Any]], post_edited: bool, answer_letter: str | None) -> None:
        answers = [t["value"] for t in turns if t.get("from") == "gpt" and isinstance(t.get("value"), str)]
        self.keep_kinds(task_type, tuple(answer_type(a) for a in answers), post_edited, answer_letter)

    def keep_kinds(self, task_type: str, kinds: tuple[tuple[str, str | None], ...], post_edited: bool,
                   answer_letter: str | None, times: int = 1) -> None:  # fmt: skip
        """`times` records of one task type whose answers have these `answer_type`s (the build counts alike ones once)."""
        self.kept[task_type] += times
        self.post_edited += post_edited * times
        for kind, detail in kinds:
            if answer_letter is not None:  # ScienceQA answers a choice's text; its letter comes from the index
                kind, detail = "option_letter", answer_letter
            self.types[kind] += times
            if kind == "yes_no" and detail:
                self.yes_no[detail] += times
            elif kind == "option_letter" and detail:
                self.letters[detail] += times

    def report(self) -> dict[str, Any]:
        kept = sum(self.kept.values())
        answers = sum(self.types.values())
        yes, no = self.yes_no["yes"], self.yes_no["no"]
        yes_share = yes / (yes + no) if yes + no else None
        warnings = []
        if yes_share is not None and not (1 - SKEW_LIMIT) <= yes_share <= SKEW_LIMIT:
            warnings.append(
                f"yes/no answers are skewed: {yes_share:.0%} yes, {1 - yes_share:.0%} no (beyond 65/35); "
                "a model finetuned on this may learn to answer one way whatever the image shows"
            )
        letters = sum(self.letters.values())
        return {
            "answer_types": {k: {"count": v, "share": v / answers} for k, v in sorted(self.types.items())},
            "yes_no": {"yes": yes, "no": no, "yes_share": yes_share},
            "option_letters": {k: {"count": v, "share": v / letters} for k, v in sorted(self.letters.items())},
            "post_edit_share": self.post_edited / kept if kept else 0.0,
            "removed_by_task_type": {
                task: {"candidates": n, "kept": self.kept[task], "removed_share": 1 - self.kept[task] / n}
                for task, n in sorted(self.candidates.items())
            },
            "warnings": warnings,
        }
