"""French-aware variants of the three metrics, reported beside - never instead of - the
reference numbers.

The references were written for English answers, and a French answer can be scored
wrong for reasons that have nothing to do with what the model saw:

- POPE: LLaVA's eval_pope.py looks for the words "No", "no" or "not"; a French "Non."
  contains none of them, so it is scored **yes**. A model answering correctly in
  French looks like a model that always says yes.
- TextVQA: the EvalAI normalisation maps "two" to "2" and drops "the", but leaves
  "deux", "le", "l'" and accents alone, so "le deux" never matches "2".
- ScienceQA: eval_science_qa.py reads "The answer is B." but not "La réponse est B.".

Each variant is a superset of its reference: it applies the reference rules first
(or as well), so an English answer scores as it would under the reference. The
French additions are this project's own; docs/metrics.md lists them.
"""

from __future__ import annotations

import re
import unicodedata

from evaluation.metrics import pope, scienceqa, textvqa

FRENCH = "french"

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def fold_accents(text: str) -> str:
    """Drop diacritics and open ligatures ("Réponse" -> "Reponse", "cœur" -> "coeur")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _plain(text: str) -> str:
    """Lower-case, straight apostrophes, no accents: the form French rules match on."""
    return fold_accents(text.translate(_APOSTROPHES)).lower()


# --- POPE -----------------------------------------------------------------------

# "n" is the elided "ne" of "n'y a pas"; "personne" is left out (also "a person").
_NEGATIVE = frozenset(
    {"non", "pas", "ne", "n", "aucun", "aucune", "jamais", "rien", "ni", "no", "not", "nope"}
)
_POSITIVE = frozenset({"oui", "ouais", "yes", "yeah", "yep"})
_FIRST_SENTENCE = re.compile(r"[.!?;\n]")


def explicit_pope_answer(text: str) -> pope.YesNo | None:
    """Yes/no read from the first sentence, in French or English; None if it says neither.

    Like eval_pope.py only the first sentence counts. Its first word decides when it
    is a yes or no word ("Non, ..." / "Oui, il n'y a pas de chat ..." -> no / yes);
    otherwise any negation ("pas", "ne ... pas", "n'y a aucun", "not") means no and
    any yes-word means yes.
    """
    first = _FIRST_SENTENCE.split(_plain(text), maxsplit=1)[0]
    words = re.findall(r"[a-z]+", first)
    if not words:
        return None
    if words[0] in {"non", "no", "nope"}:
        return "no"
    if words[0] in _POSITIVE:
        return "yes"
    if any(word in _NEGATIVE for word in words):
        return "no"
    if any(word in _POSITIVE for word in words):
        return "yes"
    return None


def parse_pope_french(text: str) -> pope.YesNo:
    """French-aware POPE reading: ``explicit_pope_answer``, else yes (LLaVA's default)."""
    return explicit_pope_answer(text) or "yes"


# --- ScienceQA ------------------------------------------------------------------

# "La réponse est B.", "La bonne réponse est : B", "Réponse : B", "réponse: (B)".
# Matched on accent-folded text; the letter must be a capital, as in LLaVA's pattern.
_FRENCH_ANSWER = re.compile(
    r"(?i:reponse(?:\s+correcte)?\s+est\s*:?|reponse\s*:)\s*\(?([A-Z])\b"
)


def parse_scienceqa_french(prediction: str) -> str | None:
    """LLaVA's letter parsing, then the French phrasings; exactly one French match counts."""
    letter = scienceqa.parse_llava(prediction)
    if letter is not None:
        return letter
    found = _FRENCH_ANSWER.findall(fold_accents(prediction.translate(_APOSTROPHES)))
    return str(found[0]) if len(found) == 1 else None


# --- TextVQA --------------------------------------------------------------------

_NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
    "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "cent": 100, "cents": 100, "mille": 1000,
}
# Single words. "un"/"une" are articles unless they are the whole answer.
FRENCH_NUMBER_MAP: dict[str, str] = {
    **textvqa.NUMBER_MAP,
    **{w: str(v) for w, v in _NUMBER_WORDS.items() if w not in {"un", "une"}},
    "aucun": "0", "aucune": "0",
}
FRENCH_ARTICLES: tuple[str, ...] = (
    *textvqa.ARTICLES, "le", "la", "les", "l'", "un", "une", "des", "du", "d'",
)
# The French counterpart of the reference's apostrophe-less contractions ("dont").
FRENCH_CONTRACTIONS: dict[str, str] = {
    **textvqa.CONTRACTIONS,
    "cest": "c'est", "jai": "j'ai", "quil": "qu'il", "quils": "qu'ils",
    "aujourdhui": "aujourd'hui", "quelquun": "quelqu'un", "jusqua": "jusqu'a",
}
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")
_ET_UN = re.compile(r"\b(vingt|trente|quarante|cinquante|soixante) et (un|une|onze)\b")
_HYPHENATED = re.compile(r"\b[a-z]+(?:-[a-z]+)+\b")
_ELISION = re.compile(r"^([ld]')(.+)$")


def french_number(word: str) -> int | None:
    """Value of a hyphenated French number ("quatre-vingt-dix-neuf" -> 99), else None."""
    parts = [part for part in word.split("-") if part != "et"]
    if not parts or any(part not in _NUMBER_WORDS for part in parts):
        return None
    total, current = 0, 0
    for part in parts:
        value = _NUMBER_WORDS[part]
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total, current = total + max(current, 1) * 1000, 0
        elif value == 20 and current % 100 == 4:  # quatre-vingt(s)
            current += 76
        else:
            current += value
    return total + current


def _spell_out_numbers(text: str) -> str:
    text = _ET_UN.sub(r"\1-et-\2", text)

    def replace(match: re.Match[str]) -> str:
        value = french_number(match.group(0))
        return match.group(0) if value is None else str(value)

    return _HYPHENATED.sub(replace, text)


def _french_digit_article(text: str) -> str:
    """process_digit_article with French numbers, articles, "de la" and elisions."""
    words: list[str] = []
    for word in text.split():
        elided = _ELISION.match(word)
        words.extend(elided.groups() if elided else (word,))
    if words in (["un"], ["une"]):
        return "1"
    words = [
        w for i, w in enumerate(words)
        if not (w == "de" and i + 1 < len(words) and words[i + 1] in {"la", "l'"})
    ]
    return textvqa.process_digit_article(
        " ".join(words), FRENCH_NUMBER_MAP, FRENCH_ARTICLES, FRENCH_CONTRACTIONS
    )


def normalize_answer_french(text: str) -> str:
    """The EvalAI normalisation with French additions, for TextVQA's French variant.

    Before the reference steps: straight apostrophes, lower case, accents folded,
    digit groups joined across (non-breaking) spaces ("2 000" -> "2000"), hyphenated
    numbers spelled as digits ("vingt-deux" -> "22"). Then word_tokenize and
    process_punctuation exactly as the reference, and a digit/article step that also
    knows zéro..mille, le/la/les/l'/un/une/des/du/de la/d' and missing-apostrophe
    forms ("cest" -> "c'est").
    """
    text = _plain(text)
    text = _THOUSANDS.sub("", text)
    text = _spell_out_numbers(text)
    text = textvqa.word_tokenize(text)
    text = text.replace("\n", " ").replace("\t", " ").strip()
    text = textvqa.process_punctuation(text)
    return _french_digit_article(text)
