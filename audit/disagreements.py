"""What a reviewer needs to settle a disagreement, as pure functions (no Django).

`word_diff` shows what an annotator's post-edit changed in the machine translation;
`disagreement` names how the k grades of one translation differ, which the
adjudication page filters on (audit/adjudication_queue.py).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .agreement import GRADES, grade_rank

_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """Word-level diff of ``after`` against ``before`` as (op, text) runs, op in same / del / ins.

    Words and the whitespace between them are separate tokens, so joining the "same"
    and "ins" runs gives ``after`` back exactly and joining "same" and "del" gives
    ``before``; the page can then mark deletions and insertions without losing a space.
    Adjacent runs of one op are merged so a rewritten phrase reads as one <del>/<ins>.
    """
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    runs: list[tuple[str, str]] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def add(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if runs and runs[-1][0] == op:
            runs[-1] = (op, runs[-1][1] + text)
        else:
            runs.append((op, text))

    def flush() -> None:
        add("del", deleted)
        add("ins", inserted)
        deleted.clear()
        inserted.clear()

    # autojunk off: with it, frequent tokens such as single spaces in texts over 200
    # tokens would be ignored and the diff would mark unchanged words as rewritten.
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag != "equal":  # replace = a deletion and an insertion; delete/insert have one side empty
            deleted.extend(old[i1:i2])
            inserted.extend(new[j1:j2])
        elif (deleted or inserted) and index + 1 < len(opcodes) and not "".join(old[i1:i2]).strip():
            # A lone space kept between two changed words: "forme est" -> "figure semble"
            # reads as one rewrite, not as del/ins/space/del/ins.
            deleted.extend(old[i1:i2])
            inserted.extend(new[j1:j2])
        else:
            flush()
            add("same", old[i1:i2])
    flush()
    return runs


@dataclass(frozen=True)
class Disagreement:
    """How the grades of one translation differ.

    ``kind`` lists the distinct grades from best to worst ("high/low"); ``spread`` is
    the distance in ranks between the best and the worst grade (1: neighbours such as
    high and moderate; 2: high against low, the disagreements worth looking at first).
    """

    kind: str
    spread: int


def disagreement(grades: Iterable[str]) -> Disagreement:
    ranks = sorted({grade_rank(g) for g in grades}, reverse=True)
    if not ranks:
        return Disagreement("", 0)
    return Disagreement("/".join(GRADES[r] for r in ranks), ranks[0] - ranks[-1])


KINDS: tuple[str, ...] = ("high/moderate", "high/low", "moderate/low", "high/moderate/low")
"""Every kind a disagreement can be, for the page's filter."""
