"""Control items: known-low translations made by corrupting a real one (pure Python).

A control is served like any item; the expected grade is low (audit.agreement's
CONTROL_GRADE), so how often an annotator grades controls low measures their
reliability. Each corruption breaks something an attentive native speaker sees:

- ``swap_answer``: the answer is replaced by another item's answer;
- ``negation``: a negation is added to (or removed from) the answer, or oui/non flipped;
- ``untranslated``: a French turn is replaced by its English source;
- ``structure``: the ``<image>`` token is dropped, or an option letter is broken.

Controls live only in audit.Entry.control_turns; they never become Translation rows,
so no export can pick them up.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Sequence
from typing import Any

Turns = list[dict[str, Any]]
KINDS: tuple[str, ...] = ("swap_answer", "negation", "untranslated", "structure")

_OPTION = re.compile(r"(^|\n)\(?([A-E])[.)]\s")
_YES_NO = {"oui": "non", "non": "oui", "Oui": "Non", "Non": "Oui", "yes": "no", "no": "yes"}
_VERB = re.compile(r"\b(est|sont|a|ont|peut|contient|montre|se trouve|voit|y a)\b")
_NEGATED = re.compile(r"\bn(?:e |')(\w+(?: \w+)?) pas\b")


def _answer_index(turns: Turns) -> int | None:
    """Index of the last model ('gpt') turn, the answer."""
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].get("from") == "gpt":
            return index
    return None


def _negate(text: str) -> str | None:
    stripped = text.strip().rstrip(".!")
    if stripped in _YES_NO:
        return text.replace(stripped, _YES_NO[stripped], 1)
    if _NEGATED.search(text):
        return _NEGATED.sub(r"\1", text, count=1)
    match = _VERB.search(text)
    if not match:
        return None
    verb = match.group(1)
    elided = verb[0] in "aeiouy"
    negated = f"n'{verb} pas" if elided else f"ne {verb} pas"
    if verb == "y a":
        negated = "n'y a pas"
    return text[: match.start()] + negated + text[match.end() :]


def corrupt(
    turns: Turns, source_turns: Turns, kind: str, *, donor_answer: str | None = None
) -> Turns | None:
    """A corrupted copy of ``turns`` of the given kind, or None when the kind does not apply."""
    if kind not in KINDS:
        raise ValueError(f"unknown control kind {kind!r}; expected one of {', '.join(KINDS)}")
    result = copy.deepcopy(turns)
    answer = _answer_index(result)
    if kind == "swap_answer":
        if answer is None or not donor_answer or donor_answer.strip() == result[answer]["value"].strip():
            return None
        result[answer]["value"] = donor_answer
        return result
    if kind == "negation":
        if answer is None:
            return None
        negated = _negate(result[answer]["value"])
        if negated is None or negated == result[answer]["value"]:
            return None
        result[answer]["value"] = negated
        return result
    if kind == "untranslated":
        for index in (answer, 0):
            if index is None or index >= len(source_turns):
                continue
            english = source_turns[index]["value"]
            if english.strip() and english != result[index]["value"]:
                result[index]["value"] = english
                return result
        return None
    # structure: drop the <image> token, else break the first option letter.
    for turn in result:
        if "<image>" in turn["value"]:
            turn["value"] = turn["value"].replace("<image>", "").strip()
            return result
    for turn in result:
        match = _OPTION.search(turn["value"])
        if match:
            start, end = match.span(2)
            turn["value"] = turn["value"][:start] + turn["value"][end:]
            return result
    return None


def make_control(
    turns: Turns, source_turns: Turns, rng: random.Random, donor_answers: Sequence[str]
) -> tuple[str, Turns] | None:
    """Corrupt ``turns`` with the first applicable kind, trying kinds in random order."""
    kinds = list(KINDS)
    rng.shuffle(kinds)
    donor = rng.choice(donor_answers) if donor_answers else None
    for kind in kinds:
        corrupted = corrupt(turns, source_turns, kind, donor_answer=donor)
        if corrupted is not None:
            return kind, corrupted
    return None
