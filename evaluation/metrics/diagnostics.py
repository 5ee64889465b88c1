"""Flags for degenerate model behaviour, shown on result pages beside the metrics.

A score alone hides how a model failed: a POPE F1 of 0.67 can come from a model that
answers "yes" to everything, and a ScienceQA accuracy near chance from one that always
picks "A". Each check returns ``{"code", "message"}`` dicts; ``diagnose`` runs those
that apply to a benchmark. The thresholds are this project's choice (the references
have no such checks):

- ``pope_yes_bias`` / ``pope_no_bias``: the model's yes-share >= 0.9 or <= 0.1
  (POPE splits are half yes, half no); under lmms-eval's exact reading the share is
  taken over the answers it reads as yes or no, so unreadable answers raise
  ``unparseable``, not a no-bias (the reference parser reads them as yes: counting
  them as "not yes" here made one run both yes- and no-biased);
- ``single_letter``: one option letter in >= 80% of all ScienceQA answers;
- ``unparseable``: >= 20% of answers empty or not readable as an answer;
- ``wrong_language``: >= 20% of answers identifiably in the other language, by a
  count of common English and French words (answers too short to tell are ignored).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TypedDict

from evaluation.metrics import french, parsers, pope

YES_BIAS = 0.9
NO_BIAS = 0.1
SINGLE_LETTER_SHARE = 0.8
UNPARSEABLE_SHARE = 0.2
WRONG_LANGUAGE_SHARE = 0.2


class Flag(TypedDict):
    code: str
    message: str


def yes_ratio_flags(yes_share: float) -> list[Flag]:
    """POPE: a model that (almost) always answers the same way."""
    if yes_share >= YES_BIAS:
        return [Flag(code="pope_yes_bias", message=f"{yes_share:.0%} of POPE answers are yes")]
    if yes_share <= NO_BIAS:
        return [Flag(code="pope_no_bias", message=f"{yes_share:.0%} of POPE answers are yes")]
    return []


def single_letter_flags(letters: Sequence[str | None]) -> list[Flag]:
    """ScienceQA: one option letter for (nearly) every question, parsed or not."""
    counts = Counter(letter for letter in letters if letter is not None)
    if not letters or not counts:
        return []
    letter, count = counts.most_common(1)[0]
    share = count / len(letters)
    if share >= SINGLE_LETTER_SHARE:
        return [
            Flag(
                code="single_letter",
                message=f"{share:.0%} of ScienceQA answers are option {letter}",
            )
        ]
    return []


def unparseable_flags(readable: Sequence[bool]) -> list[Flag]:
    """Any benchmark: too many answers the scorer could not read."""
    if not readable:
        return []
    share = sum(1 for ok in readable if not ok) / len(readable)
    if share >= UNPARSEABLE_SHARE:
        return [
            Flag(code="unparseable", message=f"{share:.0%} of answers are empty or unreadable")
        ]
    return []


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a an is are was there this that these of in on at and or it its yes no not "
        "answer image picture with to what which i see".split()
    ),
    "fr": frozenset(
        "le la les un une des du de est sont il elle y et ou dans sur avec oui non pas "
        "ce cette ces reponse je vois n l d c qu".split()
    ),
}


def answer_language(text: str) -> str | None:
    """'en', 'fr' or None: which language's common words the answer has more of.

    Elisions split at the apostrophe ("n'y" -> "n", "y"); a tie (a bare "B", a
    number, a brand name) means the answer is too short to tell.
    """
    words = re.findall(r"[a-z]+", french.fold_accents(text.lower()))
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    if scores["en"] == scores["fr"]:
        return None
    return "en" if scores["en"] > scores["fr"] else "fr"


def language_flags(predictions: Sequence[str], expected: str) -> list[Flag]:
    """Answers identifiably in a language other than ``expected`` ("en" or "fr")."""
    if not predictions:
        return []
    other = sum(
        1 for text in predictions if answer_language(text) not in (None, expected)
    )
    share = other / len(predictions)
    if share >= WRONG_LANGUAGE_SHARE:
        return [
            Flag(
                code="wrong_language",
                message=f"{share:.0%} of answers are not in the expected language ({expected})",
            )
        ]
    return []


def diagnose(
    benchmark: str,
    predictions: Sequence[str],
    *,
    parser: str = parsers.REFERENCE,
    expected_language: str | None = None,
) -> list[Flag]:
    """All flags that apply to one benchmark's predictions under one parser.

    Readability follows the parser where it can fail (ScienceQA letters, lmms-eval's
    exact yes/no); LLaVA's POPE parser never fails, so for it and the French one an
    answer counts as readable when it holds a yes or no word in English or French.
    A TextVQA answer is unreadable when it normalises to nothing.
    """
    parsers.check_parser(parser)
    flags: list[Flag] = []
    if benchmark == "scienceqa":
        letters = [parsers.scienceqa_letter_parser(parser)(p) for p in predictions]
        flags += single_letter_flags(letters)
        flags += unparseable_flags([letter is not None for letter in letters])
    elif benchmark == "pope":
        answers = [parsers.pope_answer_parser(parser)(p) for p in predictions]
        if parser == parsers.LMMS_EVAL:
            readable = [answer in ("yes", "no") for answer in answers]
            answers = [answer for answer, ok in zip(answers, readable) if ok]
        else:
            readable = [french.explicit_pope_answer(p) is not None for p in predictions]
        if answers:
            flags += yes_ratio_flags(pope.prediction_yes_share(answers))
        flags += unparseable_flags(readable)
    elif benchmark == "textvqa":
        normalize = parsers.textvqa_normalizer(parser)
        flags += unparseable_flags([normalize(p) != "" for p in predictions])
    else:
        raise ValueError(f"unknown benchmark {benchmark!r}")
    if expected_language is not None:
        flags += language_flags(predictions, expected_language)
    return flags
