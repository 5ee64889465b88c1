"""Automatic quality checks for one translated item, and the grade they suggest.

They order the audit queue and flag obvious breakage; they never replace a human
grade. Each check is a small function over plain strings so it can be shown on its
own in the audit UI. Thresholds are named constants, explained in
docs/translation-checks.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from .structure import IMAGE_TOKEN, INLINE_OPTION, OPTION_PREFIX, YES_NO

# Languages langid may answer with: the pair, the pivot (apertium leaks Spanish),
# and neighbours a broken translation tends to be mistaken for.
LANGID_LANGUAGES = ("en", "fr", "es", "it", "pt", "de", "nl", "ca")
LANGID_MIN_CHARS = 20  # shorter texts ("rouge") are not identified reliably
LANGID_CONFIDENT = 0.90  # a wrong language this sure is a real failure
# Target chars / source chars. French runs ~1.1-1.3x English.
LENGTH_RATIO_HIGH = (0.75, 1.80)
LENGTH_RATIO_MODERATE = (0.50, 2.50)
LENGTH_MIN_CHARS = 15  # ratios of very short texts ("No." -> "Non.") mean nothing
# Share of source words copied unchanged into the target.
UNTRANSLATED_HIGH = 0.15
UNTRANSLATED_MODERATE = 0.40
UNTRANSLATED_MIN_WORDS = 3
# Round-trip chrF (0-100) of the back translation against the source.
ROUNDTRIP_HIGH = 55.0
ROUNDTRIP_MODERATE = 35.0

# Words spelt the same in English and French: copying them is translating them.
SHARED_WORDS = frozenset(
    "image images photo photos table tables triangle triangles rectangle rectangles "
    "question questions page pages animal animals orange bus taxi train menu pizza date "
    "place places point points note notes "
    "format signal simple unique article articles zone zones type types total science "
    "information excellent possible impossible nature culture structure texture long "
    "moment parent parents client clients direction position positions option "
    "options action actions solution solutions section sections version versions".split()
)
# Words left in the pivot or source language. Apertium marks the words it did not know
# (translation/engines/apertium.py reports them per segment): the Spanish its es-fr stage
# could not translate ("morado": purple) and the English its eng-spa stage could not.
# Engines that cannot tell get these lists instead: frequent Spanish words that are not
# French, and English words that are not French either (found in the target AND the source).
LEFT_LANGUAGE_NAMES = {"es": "Spanish", "en": "English"}
SPANISH_WORDS = frozenset(
    "el los una unos unas del al está están hay qué cuál cuáles cuántos cuántas dónde cómo "
    "pero muy también aquí allí sí debajo encima izquierda derecha arriba "
    "abajo morado morada morados moradas rojo roja rojos rojas amarillo amarilla amarillos azul "
    "azules verde verdes negro negra blanco blanca naranja marrón rosado cuadrado cuadrados "
    "círculo círculos estrella estrellas triángulo triángulos imagen pequeño pequeña".split()
)
ENGLISH_WORDS = frozenset(
    "the is are there what which how many where does this that these those with and of "
    "colour color shape left right bottom red blue green yellow purple brown pink "
    "circle circles square squares big small".split()
)
# Known mistakes of the English->Spanish->French pivot, source word -> target word:
# "square" becomes Spanish "plaza" (a town square), which es-fr renders "place".
PIVOT_MISTRANSLATIONS: dict[str, frozenset[str]] = {
    "square": frozenset({"place"}),
    "squares": frozenset({"places"}),
}
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# "1 000" is one number, but a line break always separates two.
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f]\d+|[^\S\n]\d{3}(?!\d))*")


def _text(turns: Sequence[Mapping[str, Any] | str]) -> list[str]:
    return [t if isinstance(t, str) else str(t.get("value") or "") for t in turns]


def _plain(text: str) -> str:
    return text.replace(IMAGE_TOKEN, " ").strip()


def numbers(text: str) -> Counter[str]:
    """Numbers as digit strings: "3.5" and "3,5", "1,000" and "1 000" compare equal."""
    return Counter(_numbers(text))


def _numbers(text: str) -> tuple[str, ...]:
    # A number never runs across a line break, so each distinct line is read once.
    return tuple(number for line in text.split("\n") for number in _line_numbers(line))


@lru_cache(maxsize=16_384)
def _line_numbers(line: str) -> tuple[str, ...]:
    return tuple(re.sub(r"\D", "", m.group(0)) for m in _NUMBER.finditer(line))


def option_letters(text: str) -> list[str]:
    """Option letters, at line starts ("A. x", "(B) y") or inline ("Options: (A) x (B) y")."""
    return [letter for line in text.split("\n") for letter in _line_option_letters(line)]


@lru_cache(maxsize=16_384)  # lines repeat far more than turns do
def _line_option_letters(line: str) -> tuple[str, ...]:
    letters = []
    line = line.strip()
    if match := OPTION_PREFIX.match(line):
        letters.append(match.group(1).strip("()."))
        line = line[match.end() :]
    letters += [token.strip()[1] for token in INLINE_OPTION.findall(line)]
    return tuple(letters)


def structure_problems(
    source: str, target: str, source_lang: str = "en", target_lang: str = "fr"
) -> list[str]:
    """What the translation broke in one turn; empty when the structure is intact."""
    return list(_structure_problems(source, target, source_lang, target_lang))


# Turns repeat far more than whole items do (the world's 10,000 instruction items hold
# 26,000 turns but 3,100 distinct source/target pairs). Bounded like the item cache.
@lru_cache(maxsize=16_384)
def _structure_problems(source: str, target: str, source_lang: str, target_lang: str) -> tuple[str, ...]:
    problems = []
    if source.count(IMAGE_TOKEN) != target.count(IMAGE_TOKEN):
        problems.append(f"<image> count {source.count(IMAGE_TOKEN)} -> {target.count(IMAGE_TOKEN)}")
    if source.count("\n") != target.count("\n"):
        problems.append(f"line count {source.count(chr(10)) + 1} -> {target.count(chr(10)) + 1}")
    if option_letters(source) != option_letters(target):
        problems.append(f"option letters {option_letters(source)} -> {option_letters(target)}")
    source_numbers = _numbers(source)
    missing = Counter(source_numbers) - numbers(target) if source_numbers else None
    if missing:
        problems.append(f"numbers missing: {sorted(missing)}")
    yes_no = _yes_no_index(source, source_lang)
    if yes_no is not None and _yes_no_index(target, target_lang) != yes_no:
        problems.append(f"yes/no answer {source.strip()!r} -> {target.strip()!r}")
    return tuple(problems)


def _yes_no_index(text: str, lang: str) -> int | None:
    word = text.strip().rstrip(".!").lower()
    words = YES_NO.get(lang, ())
    return words.index(word) if word in words else None


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages(list(LANGID_LANGUAGES))
    return identifier


# Kept rather than the maintained py3langid (0.4.0), measured by bench/langid_bench.py
# (docs/performance.md): on the world's distinct English, French and Spanish turns and items
# this is 1.5-1.8x py3langid's speed (3.4-4.5x langid's), and py3langid's model puts confidence on
# another scale: at LANGID_CONFIDENT it grades 15-20 of ~300 leaked-Spanish texts moderate
# that this grades low. py3langid labels Spanish better (4 texts langid calls Catalan, still
# graded low here); moving to it means re-tuning LANGID_CONFIDENT first.
class _Classifier:
    """langid's classifier, the same model and the same answers, several times cheaper a call.

    langid walks its byte automaton (an Aho-Corasick automaton over byte n-grams of up to
    `_DEPTH` bytes) one byte at a time in Python, counts the features of every state it
    enters into a dense vector of 7,480 counts, multiplies it by the feature-class matrix
    and normalises all classes. Here:
    - the state after byte i depends only on bytes i-3..i (no automaton state is deeper
      than 4 bytes), so all the states are found at once with four vectorised steps from
      the root, the text padded with NUL bytes (which lead every state back to the root);
    - each state's features are summed into one row per state once, so a text's
      log-probabilities are the sum of the rows of the states it enters;
    - only the winning class's probability is normalised (the only one we report);
    - a text is summed line by line, and an item's text turn by turn, each distinct
      line and turn once per worker (the world's 10,000 instruction items hold 4,600
      distinct texts, 3,100 distinct turns, 450 distinct lines). Only the states of a
      line break and of the (up to) 3 bytes after it depend on the text before: a
      correction per break, cached on those 7 bytes, makes the sum exact.
    The result matches `LanguageIdentifier.classify` (tests/translation/test_checks.py
    compares them).
    """

    _DEPTH = 4

    def __init__(self, identifier: Any) -> None:
        import numpy as np

        moves = np.asarray(identifier.tk_nextmove, dtype=np.intp)
        states = len(moves) >> 8
        per_feature = np.asarray(identifier.nb_ptc, dtype=np.float64)
        self._rows = np.zeros((states, per_feature.shape[1]))
        for state, features in identifier.tk_output.items():
            self._rows[state] = per_feature[list(features)].sum(axis=0)
        # What the vectorised walk relies on; a future langid model breaking it fails here.
        table = moves.reshape(states, 256)
        reached = np.zeros(states, dtype=bool)
        frontier = np.zeros(1, dtype=np.intp)
        for _ in range(self._DEPTH):
            reached[frontier] = True
            frontier = np.unique(table[frontier])
        reached[frontier] = True
        if not reached.all() or (table[:, 0] != 0).any():
            raise RuntimeError("langid's automaton is deeper than 4 bytes or NUL does not reset it")
        self._moves = moves
        self._prior = np.asarray(identifier.nb_pc, dtype=np.float64)
        self._classes = [str(c) for c in identifier.nb_classes]
        self._np = np
        # Bounded like the other per-line caches: a worker's memory is too.
        self._piece = lru_cache(maxsize=16_384)(self._piece_rows)
        self._line = lru_cache(maxsize=16_384)(self._line_rows)
        self._line_break = lru_cache(maxsize=16_384)(self._line_break_rows)

    def classify(self, text: str) -> tuple[str, float]:
        return self.classify_joined((text,))

    def classify_joined(self, pieces: Sequence[str]) -> tuple[str, float]:
        """`classify("\n".join(pieces))`, each distinct piece (an item's turn) summed once."""
        log_probs = self._prior + self._joined(map(self._piece, pieces))
        # Eight classes: plain floats are twice as fast as numpy here.
        scores = log_probs.tolist()
        top = max(scores)
        return self._classes[scores.index(top)], 1 / sum([math.exp(score - top) for score in scores])

    def _joined(self, parts: Iterable[tuple[Any, bytes, bytes]]):
        """The summed rows of parts (rows, first 3 bytes, last 3 bytes) joined by line breaks."""
        parts = iter(parts)
        rows, _, before = next(parts)  # `before`: the 3 bytes before the next line break
        total = rows.copy()
        for rows, head, tail in parts:
            total += rows + self._line_break(before, head)
            before = (before + b"\n" + tail)[-3:]
        return total

    def _piece_rows(self, piece: str) -> tuple[Any, bytes, bytes]:
        data = piece.encode()
        lines = data.split(b"\n")
        rows = self._joined((self._line(line), line[:3], line[-3:]) for line in lines)
        return rows, lines[0][:3], data[-3:]

    def _states(self, data: bytes, before: bytes = b""):
        """The automaton's state after each byte of `data`, preceded by `before` (or by
        the start of the text): four vectorised steps, each from the root."""
        np, moves, n = self._np, self._moves, len(data)
        context = before.rjust(self._DEPTH - 1, b"\0")
        padded = np.frombuffer(context + data, dtype=np.uint8).astype(np.intp)
        states = moves[padded[:n]]
        for k in range(1, self._DEPTH):
            states = moves[(states << 8) + padded[k : k + n]]
        return states

    def _line_rows(self, line: bytes):
        """Summed feature rows of a line read on its own."""
        return self._rows[self._states(line)].sum(axis=0)

    def _line_break_rows(self, before: bytes, head: bytes):
        """What a line break and the first bytes of the next line add, given the 3 bytes
        before the break, beyond that line read on its own."""
        after_break = self._states(b"\n" + head, before)
        return self._rows[after_break].sum(axis=0) - self._rows[self._states(head)].sum(axis=0)


@lru_cache(maxsize=1)
def _classifier() -> _Classifier:
    return _Classifier(_identifier())


@lru_cache(maxsize=65_536)  # prompts and short answers repeat across a dataset
def detect_language(text: str) -> tuple[str | None, float]:
    """(language, confidence 0-1), or (None, 0.0) when the text is too short to tell."""
    text = _plain(text)
    if len(text) < LANGID_MIN_CHARS:
        return None, 0.0
    return _classifier().classify(text)


def _detect_turns(turns: Sequence[str]) -> tuple[str | None, float]:
    """`detect_language("\n".join(turns))`, each distinct turn summed once per worker."""
    pieces = [turn.replace(IMAGE_TOKEN, " ") for turn in turns]
    # As _plain strips the joined text: blank turns at either end go, with their line break.
    while pieces and not pieces[0].strip():
        del pieces[0]
    while pieces and not pieces[-1].strip():
        pieces.pop()
    if not pieces:
        return None, 0.0
    pieces[0] = pieces[0].lstrip()
    pieces[-1] = pieces[-1].rstrip()
    if sum(map(len, pieces)) + len(pieces) - 1 < LANGID_MIN_CHARS:
        return None, 0.0
    return _classifier().classify_joined(pieces)


def length_ratio(source: str, target: str) -> float | None:
    source, target = _plain(source), _plain(target)
    if len(source) < LENGTH_MIN_CHARS:
        return None
    return len(target) / len(source)


def untranslated_share(source: str | Sequence[str], target: str | Sequence[str]) -> float | None:
    """Share of source words found unchanged in the target (turn by turn for lists of turns).

    Ignored: numbers, words under 3 letters, words shared by both languages,
    and proper-noun-ish tokens (capitalised inside a sentence, ALL CAPS), which a
    good translation keeps. None when fewer than UNTRANSLATED_MIN_WORDS remain.
    """
    pairs = [(source, target)] if isinstance(source, str) else zip(source, target)
    considered = copied = 0
    for source_text, target_text in pairs:
        turn_considered, turn_copied = _copied_words(source_text, target_text)
        considered, copied = considered + turn_considered, copied + turn_copied
    if considered < UNTRANSLATED_MIN_WORDS:
        return None
    return copied / considered


@lru_cache(maxsize=16_384)  # per turn: turns repeat far more than items do
def _copied_words(source: str, target: str) -> tuple[int, int]:
    """(source words considered, of which found unchanged in the target)."""
    considered = [word for line in _plain(source).split("\n") for word in _considered_words(line)]
    if not considered:
        return 0, 0
    target_words = frozenset().union(*map(_line_words, _plain(target).split("\n")))
    return len(considered), sum(word in target_words for word in considered)


@lru_cache(maxsize=16_384)  # lines repeat far more than turns do
def _considered_words(line: str) -> tuple[str, ...]:
    """A line's words that a translation should change, lower-cased. A line starts a
    sentence, so words never depend on the lines before them."""
    words = []
    for match in _WORD.finditer(line):
        word = match.group(0)
        if len(word) < 3 or word.lower() in SHARED_WORDS:
            continue
        if word.isupper() or (word[0].isupper() and not _starts_sentence(line, match.start())):
            continue
        words.append(word.lower())
    return tuple(words)


@lru_cache(maxsize=16_384)
def _line_words(line: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _WORD.findall(line))


def _starts_sentence(line: str, start: int) -> bool:
    """Whether line[start:] begins a sentence: nothing but spaces before it, or . ! ? :"""
    content = line[:start].rstrip()
    return not content or content[-1] in ".!?:"


def leftover_words(
    source: str, target: str, marked: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Words of the target left in another language, by language ("es", "en"), in order.

    `marked`: the words the engine says it left (apertium), kept where the target still
    has them; capitalised and short English words are names or letters, not leftovers.
    Without it, the word lists: Spanish words, and English words copied from the source.
    """
    target_words = _line_words(_plain(target).replace("\n", " "))
    found: dict[str, list[str]] = {}
    if marked is not None:
        for lang, words in marked.items():
            kept = [
                w for w in dict.fromkeys(words)
                if w.lower() in target_words and (lang != "en" or (len(w) > 2 and w.islower()))
                and w.lower() not in SHARED_WORDS
            ]  # fmt: skip
            if kept:
                found[lang] = kept
        return found
    ordered = [word.lower() for word in _WORD.findall(_plain(target))]
    spanish = [w for w in dict.fromkeys(ordered) if w in SPANISH_WORDS]
    source_words = _line_words(_plain(source).replace("\n", " "))
    english = [w for w in dict.fromkeys(ordered) if w in ENGLISH_WORDS and w in source_words]
    return {lang: words for lang, words in (("es", spanish), ("en", english)) if words}


def pivot_mistranslations(source: str, target: str) -> list[str]:
    """Known pivot mistakes found in a translation: "square -> place"."""
    source_words = _line_words(_plain(source).replace("\n", " "))
    target_words = _line_words(_plain(target).replace("\n", " "))
    return [
        f"{word} -> {wrong}"
        for word, wrongs in PIVOT_MISTRANSLATIONS.items() if word in source_words
        for wrong in sorted(wrongs & target_words)
    ]  # fmt: skip


def roundtrip_chrf(source: str, back_translation: str) -> float:
    from sacrebleu.metrics.chrf import CHRF

    return float(CHRF().sentence_score(_plain(back_translation), [_plain(source)]).score)


def run_checks(
    source_turns: Sequence[Mapping[str, Any] | str],
    target_turns: Sequence[Mapping[str, Any] | str],
    *,
    source_lang: str = "en",
    target_lang: str = "fr",
    back_translation: Sequence[Mapping[str, Any] | str] | None = None,
    left_words: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """All checks for one item (turns as LLaVA dicts or plain strings) + a suggested grade.

    `left_words`: the words the engine says it left untranslated in this item, by
    language (apertium's marks); None when the engine cannot tell.
    """
    back = None if back_translation is None else tuple(_text(back_translation))
    marked = None if left_words is None else tuple((lang, tuple(words)) for lang, words in sorted(left_words.items()))
    result = _checks(tuple(_text(source_turns)), tuple(_text(target_turns)), back, source_lang, target_lang, marked)
    # The cached report is shared: the caller gets its own lists.
    return {
        **result,
        "structure_problems": list(result["structure_problems"]),
        "left_words": {lang: list(words) for lang, words in result["left_words"].items()},
        "pivot_mistranslations": list(result["pivot_mistranslations"]),
        "grade_reasons": list(result["grade_reasons"]),
    }


# The checks are a pure function of the texts, and a dataset's items repeat (templated
# questions, the same short answers; a deterministic engine then repeats the target too):
# ~2/3 of the world's items are checked for free. Bounded, so a worker's memory is too.
@lru_cache(maxsize=16_384)
def _checks(
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    back_translation: tuple[str, ...] | None,
    source_lang: str,
    target_lang: str,
    marked: tuple[tuple[str, tuple[str, ...]], ...] | None = None,
) -> dict[str, Any]:
    problems = []
    if len(sources) != len(targets):
        problems.append(f"turn count {len(sources)} -> {len(targets)}")
    for i, (s, t) in enumerate(zip(sources, targets)):
        problems += [f"turn {i}: {p}" for p in _structure_problems(s, t, source_lang, target_lang)]
    source_text, target_text = "\n".join(sources), "\n".join(targets)
    language, confidence = _detect_turns(targets)
    source_detected, source_confidence = _detect_turns(sources)
    result: dict[str, Any] = {
        "structure_ok": not problems,
        "structure_problems": problems,
        "language": language,
        "language_confidence": round(confidence, 4),
        # A source that is not in the source language (a French record in an English
        # set) cannot yield a trustworthy translation: flagged, and graded down.
        "source_language": source_detected,
        "source_language_ok": source_detected in (None, source_lang) or source_confidence < LANGID_CONFIDENT,
        "length_ratio": _round(length_ratio(source_text, target_text)),
        "untranslated_share": _round(untranslated_share(sources, targets)),
        "roundtrip_chrf": None,
        "left_words": leftover_words(source_text, target_text, None if marked is None else dict(marked)),
        "left_words_by": "word list" if marked is None else "engine",
        "pivot_mistranslations": pivot_mistranslations(source_text, target_text),
    }
    if back_translation is not None:
        result["roundtrip_chrf"] = round(roundtrip_chrf(source_text, "\n".join(back_translation)), 2)
    result["suggested_grade"], result["grade_reasons"] = suggest_grade(result, target_lang)
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def suggest_grade(signals: Mapping[str, Any], target_lang: str = "fr") -> tuple[str, list[str]]:
    """ "high" / "moderate" / "low" from the signals, with the reasons for any downgrade."""
    low: list[str] = []
    moderate: list[str] = []
    if not signals["structure_ok"]:
        low.append("structure broken: " + "; ".join(signals["structure_problems"]))
    if not signals.get("source_language_ok", True):
        low.append(f"source text is not in the source language (detected {signals['source_language']})")
    language = signals["language"]
    if language is not None and language != target_lang:
        target = low if signals["language_confidence"] >= LANGID_CONFIDENT else moderate
        target.append(f"detected language {language} ({signals['language_confidence']:.2f})")
    _band(signals["length_ratio"], LENGTH_RATIO_HIGH, LENGTH_RATIO_MODERATE, "length ratio", low, moderate)
    share = signals["untranslated_share"]
    if share is not None and share > UNTRANSLATED_MODERATE:
        low.append(f"untranslated share {share:.2f}")
    elif share is not None and share > UNTRANSLATED_HIGH:
        moderate.append(f"untranslated share {share:.2f}")
    for lang, words in (signals.get("left_words") or {}).items():
        moderate.append(f"words left in {LEFT_LANGUAGE_NAMES.get(lang, lang)}: {', '.join(words)}")
    for mistake in signals.get("pivot_mistranslations") or ():
        moderate.append(f"pivot mistranslation: {mistake}")
    chrf = signals.get("roundtrip_chrf")
    if chrf is not None and chrf < ROUNDTRIP_MODERATE:
        low.append(f"round-trip chrF {chrf:.1f}")
    elif chrf is not None and chrf < ROUNDTRIP_HIGH:
        moderate.append(f"round-trip chrF {chrf:.1f}")
    if low:
        return "low", low + moderate
    return ("moderate", moderate) if moderate else ("high", [])


def _band(
    value: float | None,
    high: tuple[float, float],
    moderate: tuple[float, float],
    label: str,
    low_reasons: list[str],
    moderate_reasons: list[str],
) -> None:
    if value is None or high[0] <= value <= high[1]:
        return
    inside_moderate = moderate[0] <= value <= moderate[1]
    (moderate_reasons if inside_moderate else low_reasons).append(f"{label} {value:.2f}")
