"""Errors injected into translations on purpose, so a study knows which ones are wrong.

A job may ask any engine (translation/engines/options.py) to spoil a share of its
translations after the engine has translated them:

- `inject_answer_changed` (0..1): the answer (a `gpt` turn) says something else: Oui
  and Non swapped, another option letter, another number, colour, shape or word;
- `inject_meaning_changed` (0..1): the question (a `human` turn) asks something else,
  one number, colour, shape, size, position or object word swapped for another of its
  kind (and gender), the answer left as it was;
- `inject_untranslated` (0..1): one turn (a question, where there is one) left in English;
- `inject_seed` (integer): which items get which error.

The choice for an item is a hash of the seed and the item's key (its external id), so a
rerun, a retry or a requeued job injects the same errors into the same items. The
`<image>` token, line breaks and option letters stay where they are: an injected error
is one an annotator must read to see, not a broken format. The kind is stored on the
row (`Translation.injected_error`); the automatic checks then run on the injected text
as on any other, which is what a study measures: what they catch and what only the
audit does. Pure Python, no Django.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engines.options import Option

ANSWER_CHANGED = "answer_changed"
MEANING_CHANGED = "meaning_changed"
UNTRANSLATED = "untranslated"
KINDS = (ANSWER_CHANGED, MEANING_CHANGED, UNTRANSLATED)
# The option naming each kind's rate, in the order a draw walks them.
RATE_OPTIONS = {ANSWER_CHANGED: "inject_answer_changed", MEANING_CHANGED: "inject_meaning_changed",
                UNTRANSLATED: "inject_untranslated"}  # fmt: skip

# Every engine accepts these (each engine's `request_options` lists them); their rates
# share one whole, so `check_options` refuses rates adding up to more than 1.
INJECTION_OPTIONS: tuple[Option, ...] = (
    *(
        Option(name, float, 0, 1, share="inject", help=f"share of items whose translation gets the error {kind}")
        for kind, name in RATE_OPTIONS.items()
    ),
    Option("inject_seed", int, 0, 2**31 - 1, help="which items get an injected error (same seed, same items)"),
)
INJECTION_OPTION_NAMES = frozenset(option.name for option in INJECTION_OPTIONS)

# French words an error swaps for another of the same group: same kind, gender and
# number, so the sentence stays grammatical and the error has to be read to be seen.
WORD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("rouge", "jaune", "orange", "marron", "rose"),
    ("bleu", "vert", "violet", "noir", "gris", "blanc"),
    ("bleue", "verte", "violette", "noire", "grise", "blanche"),
    ("rouges", "jaunes", "roses"),
    ("bleus", "verts", "violets", "noirs"),
    ("bleues", "vertes", "violettes", "noires"),
    ("cercle", "triangle", "diamant", "carré", "losange", "cube"),
    ("cercles", "triangles", "diamants", "carrés", "losanges", "cubes"),
    ("étoile", "place", "sphère", "croix"),
    ("étoiles", "places", "sphères"),
    ("grand", "petit"),
    ("grande", "petite"),
    ("grands", "petits"),
    ("grandes", "petites"),
    ("gauche", "droite"),
    ("haut", "bas"),
    ("supérieur", "inférieur"),
    ("supérieure", "inférieure"),
    ("dessus", "dessous"),
    ("deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
    ("chat", "chien", "chapeau", "livre", "poisson", "bus", "lait"),
    ("voiture", "tasse", "carte", "pluie"),
)
_GROUP_OF = {word: group for group in WORD_GROUPS for word in group}
_SWAPPABLE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _GROUP_OF), key=len, reverse=True)) + r")\b", re.I)
_NUMBER = re.compile(r"\b\d+\b")
_YES_NO = {"oui": "non", "non": "oui"}
_YES_NO_ANSWER = re.compile(r"^(\s*)(oui|non)\b", re.I)
_LETTER_ANSWER = re.compile(r"^(\s*\(?)([A-Z])(?=[.)]?\s*$)")
_OPTION_LETTER = re.compile(r"(?:^|\n|\()\s*\(?([A-Z])[.)]\s")


@dataclass(frozen=True)
class Injection:
    """The rates asked for and the seed; `kind_for` draws, `apply` spoils one item."""

    rates: Mapping[str, float]
    seed: int = 0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Injection | None:
        """The injection a job's (checked) options ask for, or None when they ask for none."""
        rates = {kind: float(options.get(name, 0.0)) for kind, name in RATE_OPTIONS.items()}
        if not any(rates.values()):
            return None
        return cls(rates, int(options.get("inject_seed", 0)))

    def kind_for(self, key: str) -> str:
        """The error drawn for the item called `key`: one of KINDS, or "" (none)."""
        digest = hashlib.sha256(f"{self.seed}\x00{key}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        for kind in KINDS:
            draw -= self.rates.get(kind, 0.0)
            if draw < 0:
                return kind
        return ""

    def apply(
        self, key: str, source_turns: Sequence[Mapping[str, Any]], target_turns: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], str]:
        """(the target turns with the item's error, its kind); the turns unchanged and ""
        when the item draws none, or when nothing in it can carry the error drawn."""
        kind = self.kind_for(key)
        if not kind:
            return [dict(turn) for turn in target_turns], ""
        rng = random.Random(f"{self.seed}\x00{key}\x00{kind}")
        spoiled = _SPOILERS[kind](rng, source_turns, target_turns)
        if spoiled is None:
            return [dict(turn) for turn in target_turns], ""
        return spoiled, kind


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the engine's own options, the injection options): engines never see the latter."""
    engine = {k: v for k, v in options.items() if k not in INJECTION_OPTION_NAMES}
    return engine, {k: v for k, v in options.items() if k in INJECTION_OPTION_NAMES}


def count_injected(translations: Any) -> dict[str, int]:
    """Translations per injected kind, "none" for clean ones: a queryset (counted with one
    GROUP BY in the database) or any rows with an `injected_error`."""
    counts = dict.fromkeys(("none", *KINDS), 0)
    if hasattr(translations, "values_list"):
        from django.db.models import Count

        pairs = translations.order_by().values_list("injected_error").annotate(n=Count("id"))
    else:
        pairs = ((translation.injected_error, 1) for translation in translations)
    for kind, n in pairs:
        counts[kind or "none"] = counts.get(kind or "none", 0) + n
    return counts


def _turns(target_turns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(turn) for turn in target_turns]


def _indexes(turns: Sequence[Mapping[str, Any]], speaker: str) -> list[int]:
    return [i for i, turn in enumerate(turns) if turn.get("from") == speaker and str(turn.get("value") or "").strip()]


def _answer_changed(rng: random.Random, source_turns, target_turns) -> list[dict[str, Any]] | None:
    """One answer says something else; the question is left as it was."""
    turns = _turns(target_turns)
    question = "\n".join(str(t.get("value") or "") for t in turns if t.get("from") == "human")
    answers = _indexes(turns, "gpt")
    rng.shuffle(answers)
    for index in answers:
        changed = _other_answer(rng, str(turns[index]["value"]), question)
        if changed is not None:
            turns[index]["value"] = changed
            return turns
    return None


def _other_answer(rng: random.Random, answer: str, question: str) -> str | None:
    if match := _YES_NO_ANSWER.match(answer):
        word = match.group(2)
        other = _YES_NO[word.lower()]
        other = other.capitalize() if word[0].isupper() else other
        return answer[: match.start(2)] + other + answer[match.end(2) :]
    if match := _LETTER_ANSWER.match(answer):
        letters = sorted(set(_OPTION_LETTER.findall(question)) - {match.group(2)})
        if not letters:
            letters = [chr(ord("A") + (ord(match.group(2)) - ord("A") + 1) % 4)]
        return answer[: match.start(2)] + rng.choice(letters) + answer[match.end(2) :]
    return _swap_one(rng, answer)


def _meaning_changed(rng: random.Random, source_turns, target_turns) -> list[dict[str, Any]] | None:
    """One question asks something else; its answer is left as it was."""
    turns = _turns(target_turns)
    questions = _indexes(turns, "human")
    rng.shuffle(questions)
    # A swapped word first: a swapped number is one the number check sees at once.
    for words_only in (True, False):
        for index in questions:
            changed = _swap_one(rng, str(turns[index]["value"]), numbers=not words_only)
            if changed is not None:
                turns[index]["value"] = changed
                return turns
    return None


def _swap_one(rng: random.Random, text: str, numbers: bool = True) -> str | None:
    """`text` with one word of WORD_GROUPS (or one number) changed, or None if it has none."""
    found_numbers = _NUMBER.finditer(text) if numbers else ()
    spots = [(m.start(), m.end(), m.group(0)) for m in (*found_numbers, *_SWAPPABLE.finditer(text))]
    if not spots:
        return None
    start, end, found = rng.choice(sorted(spots))
    if found.isdigit():
        value = int(found)
        other = str(rng.choice([n for n in range(max(0, value - 3), value + 4) if n != value]))
    else:
        other = rng.choice([w for w in _GROUP_OF[found.lower()] if w != found.lower()])
        other = other.capitalize() if found[0].isupper() else other
    return text[:start] + other + text[end:]


def _untranslated(rng: random.Random, source_turns, target_turns) -> list[dict[str, Any]] | None:
    """One turn left in the source language: a question where there is one to leave."""
    turns = _turns(target_turns)
    if len(source_turns) != len(turns):
        return None
    differs = [i for i in range(len(turns)) if str(source_turns[i].get("value") or "") != str(turns[i].get("value") or "")]
    candidates = [i for i in differs if turns[i].get("from") == "human"] or differs
    if not candidates:
        return None
    index = rng.choice(candidates)
    turns[index]["value"] = source_turns[index].get("value")
    return turns


_SPOILERS = {ANSWER_CHANGED: _answer_changed, MEANING_CHANGED: _meaning_changed, UNTRANSLATED: _untranslated}
