"""Structure-safe translation of items: what the engine may touch, and what it may not.

An item's text is cut into *segments* before any engine sees it: `<image>` tokens
and line breaks are split out (the engine never gets a chance to drop or move
them), option letters ("A. ", "(B) ") are kept aside, and pieces with a
deterministic answer never reach the engine at all: yes/no answers and POPE labels
map to oui/non, numbers and bare option letters are copied. What is left is
translated in ONE `engine.translate` call per batch of items, each distinct string
once, which also makes repeated strings (TextVQA's ten answers, a choice repeated
in the question) translate consistently. Segments longer than the engine accepts
are split at sentence boundaries and rejoined with their original spacing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .engines.base import Engine, SegmentTooLong, Usage

TASK_TYPES = frozenset(
    {
        "caption",
        "colour",
        "count",
        "position",
        "yes_no",
        "reading",
        "multiple_choice",
        "conversation",
        "scienceqa",
        "textvqa",
        "pope",
    }
)
# The model's answer to a reading question is the text printed in the image:
# translating it would make the answer disagree with the picture.
VERBATIM_ANSWER_TASKS = frozenset({"reading"})
# Free-text meta fields (ScienceQA) and lists of free texts (choices, TextVQA answers).
META_TEXT_FIELDS = ("hint", "lecture", "solution")
META_TEXT_LIST_FIELDS = ("choices", "answers")
# Fields that may hold a yes/no label (POPE): mapped when they do, else left as they are.
META_LABEL_FIELDS = ("label", "answer")

YES_NO: dict[str, tuple[str, str]] = {"en": ("yes", "no"), "fr": ("oui", "non"), "es": ("sí", "no")}
IMAGE_TOKEN = "<image>"
# The answer-format instructions of LLaVA-1.5's data mix and of the benchmarks' prompts
# get fixed, reviewed translations (never the engine's), so French training data and
# French benchmark prompts (evaluation/benchmark_prompts.py) say exactly the same thing.
FORMAT_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "Answer with the option's letter from the given choices directly.",
        "Answer the question using a single word or phrase.",
    ),
    "fr": (
        "Répondez directement avec la lettre de l'option parmi les choix proposés.",
        "Répondez à la question en utilisant un seul mot ou une seule expression.",
    ),
}
_PROTECTED = re.compile(r"(<image>|\n)")
OPTION_PREFIX = re.compile(r"^(\(?[A-Z]\)|[A-Z][.)])(\s+)(?=\S)")
INLINE_OPTION = re.compile(r"(\s*\([A-Z]\)\s+)")
_BARE_LETTER = re.compile(r"^\(?[A-Z][.)]?$")
_YES_NO_ANSWER = re.compile(r"^(\w+)([.!]?)$")
_SENTENCE_GAP = re.compile(r"(?<=[.!?;:])(\s+)")
_WORD_GAP = re.compile(r"(\s+)")
_LINE_BREAK = re.compile(r"\s*\n\s*")


@dataclass
class SegmentInfo:
    """How one piece of an item was translated (shown in the audit's detail view)."""

    field: str  # e.g. "conversations[0].value", "meta.choices[2]"
    source: str
    target: str
    method: str  # "engine", "rule" (yes/no), "copy" (numbers, letters, verbatim)
    chunks: int = 1  # engine segments it was split into


@dataclass
class ItemTranslation:
    conversations: list[dict[str, Any]]
    meta: dict[str, Any]
    # How each piece was translated, built only when asked for (a job stores the text
    # alone, and building these cost a fifth of its rendering).
    _slots: Sequence[tuple[str, _Slot]] = field(default=(), repr=False)
    _translations: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def segments(self) -> list[SegmentInfo]:
        return [
            SegmentInfo(path, s.source, s.render(self._translations), s.method, max(1, len(s.chunks)))
            for path, s in self._slots
        ]

    def engine_outputs(self) -> tuple[tuple[str, str], ...]:
        """(segment, translation) for each engine segment this item was rendered from, once
        each, in order: with the item, all its translation depends on."""
        chunks = dict.fromkeys(c for _, slot in self._slots if slot.method == "engine" for c in slot.chunks)
        return tuple((chunk, self._translations[chunk]) for chunk in chunks)


@dataclass
class ItemSource:
    """One item to translate, as the importers store it."""

    conversations: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    task_type: str = "conversation"


@dataclass
class BatchTranslation:
    """Translated items in input order, and the usage of the single engine call."""

    items: list[ItemTranslation]
    usage: Usage
    engine_segments: int

    def __iter__(self) -> Iterator[ItemTranslation]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> ItemTranslation:
        return self.items[index]


@dataclass(frozen=True, slots=True)
class _Slot:
    """A translatable piece: either decided now (value) or waiting for the engine.
    Immutable, so every occurrence of a text in a batch shares its slots."""

    source: str
    method: str
    value: str | None = None
    chunks: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()

    def render(self, translations: dict[str, str]) -> str:
        if self.value is not None:
            return self.value
        out = [_one_line(translations[self.chunks[0]])]
        for gap, chunk in zip(self.gaps, self.chunks[1:]):
            out += [gap, _one_line(translations[chunk])]
        return "".join(out)


def _one_line(text: str) -> str:
    # A slot is a single line by construction; a model that adds line breaks
    # would change the turn's line structure.
    text = text.strip()
    return _LINE_BREAK.sub(" ", text) if "\n" in text else text


class _Planner:
    """Cuts texts into slots and collects the distinct engine segments of a batch."""

    def __init__(self, max_segment_chars: int, source: str, target: str) -> None:
        self.max_segment_chars = max_segment_chars
        self.source = source
        self.target = target
        self.keys: dict[str, None] = {}  # ordered set of engine segments
        self.slots: list[tuple[str, _Slot]] = []  # (field, slot), in planning order

    def plan(self, text: str, field_name: str, verbatim: bool = False) -> tuple[str | _Slot, ...]:
        cut = _cut(text, verbatim, self.source, self.target, self.max_segment_chars)
        if cut.slots:
            self.slots += [(field_name, slot) for slot in cut.slots]
            self.keys.update(cut.engine_segments)
        return cut.parts

    def run(self, engine: Engine) -> tuple[dict[str, str], Usage]:
        """The single engine call for everything planned so far."""
        keys = list(self.keys)
        if not keys:
            return {}, Usage()
        result = engine.translate(keys, self.source, self.target)
        return dict(zip(keys, result.outputs)), result.usage


@dataclass(frozen=True, slots=True)
class _Cut:
    """A text as protected pieces (kept as they are) and slots (translated or decided)."""

    parts: tuple[str | _Slot, ...]
    slots: tuple[_Slot, ...]
    engine_segments: dict[str, None]  # what its slots need from the engine, in order (read only)


# A dataset's texts repeat (templated questions, the same answers): each distinct text
# is cut once per worker, and each distinct line once (the world's 3,100 distinct turns
# hold 450 distinct lines). Bounded, so a worker's memory is too (long texts: tens of MB).
@lru_cache(maxsize=16_384)
def _cut(text: str, verbatim: bool, source: str, target: str, max_chars: int) -> _Cut:
    parts = [
        part
        for piece in _PROTECTED.split(text)
        for part in _cut_piece(piece, verbatim, source, target, max_chars)
    ]
    slots = tuple(part for part in parts if isinstance(part, _Slot))
    engine_segments = dict.fromkeys(chunk for slot in slots if slot.method == "engine" for chunk in slot.chunks)
    return _Cut(tuple(parts), slots, engine_segments)


@lru_cache(maxsize=16_384)
def _cut_piece(piece: str, verbatim: bool, source: str, target: str, max_chars: int) -> tuple[str | _Slot, ...]:
    """One piece between `<image>` tokens and line breaks (or one of those), cut."""
    if piece in (IMAGE_TOKEN, "\n") or not piece.strip():
        return (piece,)
    core = piece.strip()
    lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
    prefix = ""
    if option := OPTION_PREFIX.match(core):
        prefix, core = option.group(0), core[option.end() :]
    parts: list[str | _Slot] = [lead + prefix]
    # LLaVA's ScienceQA prompt lists options inline: "Options: (A) red (B) blue".
    for i, inline in enumerate(INLINE_OPTION.split(core)):
        if i % 2:
            parts.append(inline)
        elif inline.strip():
            parts.append(_slot(inline, verbatim, source, target, max_chars))
    parts.append(trail)
    return tuple(parts)


def _slot(core: str, verbatim: bool, source: str, target: str, max_chars: int) -> _Slot:
    mapped = yes_no(core, source, target) or format_instruction(core, source, target)
    if mapped is not None:
        return _Slot(core, "rule", value=mapped)
    if verbatim or not any(c.isalpha() for c in core) or _BARE_LETTER.match(core):
        return _Slot(core, "copy", value=core)
    chunks, gaps = split_segment(core, max_chars)
    return _Slot(core, "engine", chunks=tuple(chunks), gaps=tuple(gaps))


def _render(parts: Sequence[str | _Slot], translations: dict[str, str]) -> str:
    return "".join(p if isinstance(p, str) else p.render(translations) for p in parts)


def format_instruction(text: str, source: str, target: str) -> str | None:
    """The fixed translation of a known answer-format instruction; None for any other text."""
    sources, targets = FORMAT_INSTRUCTIONS.get(source), FORMAT_INSTRUCTIONS.get(target)
    if sources is None or targets is None or text.strip() not in sources:
        return None
    return targets[sources.index(text.strip())]


def yes_no(text: str, source: str, target: str) -> str | None:
    """ "Yes." -> "Oui.", "no" -> "non", "YES" -> "OUI"; None if not a bare yes/no."""
    match = _YES_NO_ANSWER.match(text.strip())
    if not match or source not in YES_NO or target not in YES_NO:
        return None
    word, punctuation = match.groups()
    try:
        index = YES_NO[source].index(word.lower())
    except ValueError:
        return None
    mapped = YES_NO[target][index]
    if word.isupper() and len(word) > 1:
        mapped = mapped.upper()
    elif word[0].isupper():
        mapped = mapped.capitalize()
    return mapped + punctuation


def split_segment(text: str, max_chars: int) -> tuple[list[str], list[str]]:
    """Split at sentence ends (then at spaces) into chunks of at most `max_chars`.

    Returns the chunks and the whitespace between them, so that
    chunk0 + gap0 + chunk1 + ... == text.
    """
    if len(text) <= max_chars:
        return [text], []
    chunks, gaps = _pack(text, _SENTENCE_GAP, max_chars)
    out_chunks: list[str] = []
    out_gaps: list[str] = []
    for i, chunk in enumerate(chunks):
        sub_chunks, sub_gaps = _pack(chunk, _WORD_GAP, max_chars) if len(chunk) > max_chars else ([chunk], [])
        if any(len(c) > max_chars for c in sub_chunks):
            raise SegmentTooLong(f"a single word is longer than {max_chars} characters: {chunk[:60]!r}...")
        if i:
            out_gaps.append(gaps[i - 1])
        out_chunks += sub_chunks
        out_gaps += sub_gaps
    return out_chunks, out_gaps


def _pack(text: str, gap: re.Pattern[str], max_chars: int) -> tuple[list[str], list[str]]:
    """Greedily join the pieces between `gap` matches into chunks <= max_chars."""
    tokens = gap.split(text)  # text, gap, text, gap, ..., text
    chunks, gaps = [], []
    current = tokens[0]
    for i in range(1, len(tokens), 2):
        space, nxt = tokens[i], tokens[i + 1]
        if len(current) + len(space) + len(nxt) <= max_chars:
            current += space + nxt
        else:
            chunks.append(current)
            gaps.append(space)
            current = nxt
    chunks.append(current)
    return chunks, gaps


_MetaPlans = dict[tuple[str, int | None], Sequence[str | _Slot]]
_ItemPlan = tuple[tuple[list[dict[str, Any]], _MetaPlans], int]


@dataclass
class BatchPlan:
    """A batch of items cut into slots: the distinct engine segments to send, and how
    to put their translations back. Planning and rendering need no engine, so a job
    can do them in another thread than the one waiting on the engine."""

    items: Sequence[ItemSource]
    planner: _Planner
    plans: list[_ItemPlan]

    @property
    def segments(self) -> list[str]:
        return list(self.planner.keys)

    def include(self, segments: Iterable[str]) -> None:
        """Send these segments to the engine with the batch too (items the caller renders
        itself); they come back in `translations`."""
        self.planner.keys.update(dict.fromkeys(segments))

    def translations(self, outputs: Sequence[str]) -> dict[str, str]:
        """Segment -> translation, given the engine's outputs for `segments`, in order."""
        return dict(zip(self.planner.keys, outputs))

    def render(self, outputs: Sequence[str], usage: Usage) -> BatchTranslation:
        """The items translated, given the engine's outputs for `segments`, in order."""
        return self.render_translations(self.translations(outputs), usage)

    def render_other(self, item: ItemSource, translations: dict[str, str]) -> ItemTranslation:
        """An item not planned here, whose engine segments are all in `translations`."""
        planner, plans = _plan_items([item], self.planner.max_segment_chars, self.planner.source, self.planner.target)
        return BatchPlan([item], planner, plans).render_translations(translations, Usage()).items[0]

    def render_translations(self, translations: dict[str, str], usage: Usage) -> BatchTranslation:
        planner, plans = self.planner, self.plans
        source, target = planner.source, planner.target
        results = []
        for index, ((turns, meta_plans), start) in enumerate(plans):
            end = plans[index + 1][1] if index + 1 < len(plans) else len(planner.slots)
            results.append(
                ItemTranslation(
                    conversations=[_render_turn(turn, translations) for turn in turns],
                    meta=_render_meta(self.items[index].meta, meta_plans, translations, source, target),
                    _slots=planner.slots[start:end],
                    _translations=translations,
                )
            )
        return BatchTranslation(items=results, usage=usage, engine_segments=len(planner.keys))


def plan_items(
    items: Sequence[ItemSource], max_segment_chars: int, source: str = "en", target: str = "fr"
) -> BatchPlan:
    """Plan a batch for one engine call (raises on an item that cannot be planned)."""
    planner, plans = _plan_items(items, max_segment_chars, source, target)
    return BatchPlan(items, planner, plans)


def translate_items(
    engine: Engine, items: Sequence[ItemSource], source: str = "en", target: str = "fr"
) -> BatchTranslation:
    """Translate a batch of items with one engine call: plan, translate, render."""
    plan = plan_items(items, engine.max_segment_chars, source, target)
    return plan.render_translations(*plan.planner.run(engine))


def translate_item(
    engine: Engine,
    conversations: list[dict[str, Any]],
    meta: dict[str, Any],
    task_type: str,
    source: str = "en",
    target: str = "fr",
) -> ItemTranslation:
    """Translate one item (see `translate_items` for batches)."""
    return translate_items(engine, [ItemSource(conversations, meta, task_type)], source, target).items[0]


def translate_texts(engine: Engine, texts: Sequence[str], source: str, target: str) -> list[str]:
    """Translate free texts with the same protection rules, in one engine call."""
    planner = _Planner(engine.max_segment_chars, source, target)
    plans = [planner.plan(text, f"texts[{i}]") for i, text in enumerate(texts)]
    translations, _ = planner.run(engine)
    return [_render(parts, translations) for parts in plans]


def engine_segments(
    items: Sequence[ItemSource], max_segment_chars: int, source: str = "en", target: str = "fr"
) -> list[str]:
    """The distinct strings `translate_items` would send to an engine (for benchmarks)."""
    return plan_items(items, max_segment_chars, source, target).segments


def _plan_items(
    items: Sequence[ItemSource], max_segment_chars: int, source: str, target: str
) -> tuple[_Planner, list[_ItemPlan]]:
    """Plan every item; each plan remembers where its slots start in planner.slots."""
    planner = _Planner(max_segment_chars, source, target)
    plans = []
    for item in items:
        if item.task_type not in TASK_TYPES:
            raise ValueError(f"unknown task_type {item.task_type!r}; expected one of {sorted(TASK_TYPES)}")
        start = len(planner.slots)
        plans.append((_plan_item(planner, item), start))
    return planner, plans


def _plan_item(planner: _Planner, item: ItemSource) -> tuple[list[dict[str, Any]], _MetaPlans]:
    """Plan turns and meta; meta plans are keyed by (field, list index or None)."""
    turns = []
    for i, turn in enumerate(item.conversations):
        planned = dict(turn)
        value = turn.get("value")
        if isinstance(value, str):
            verbatim = item.task_type in VERBATIM_ANSWER_TASKS and turn.get("from") == "gpt"
            planned["value"] = planner.plan(value, f"conversations[{i}].value", verbatim)
        turns.append(planned)
    meta_plans: _MetaPlans = {}
    for key in META_TEXT_FIELDS:
        if isinstance(item.meta.get(key), str):
            meta_plans[key, None] = planner.plan(item.meta[key], f"meta.{key}")
    for key in META_TEXT_LIST_FIELDS:
        values = item.meta.get(key)
        if isinstance(values, list):
            for j, value in enumerate(values):
                if isinstance(value, str):
                    meta_plans[key, j] = planner.plan(value, f"meta.{key}[{j}]")
    return turns, meta_plans


def _render_turn(turn: dict[str, Any], translations: dict[str, str]) -> dict[str, Any]:
    if isinstance(turn.get("value"), tuple):  # planned: pieces and slots
        return {**turn, "value": _render(turn["value"], translations)}
    return turn


def _render_meta(
    meta: dict[str, Any], plans: _MetaPlans, translations: dict[str, str], source: str, target: str
) -> dict[str, Any]:
    out = copy.deepcopy(meta) if meta else {}  # most items have no meta; deepcopy costs even then
    for (key, index), parts in plans.items():
        if index is None:
            out[key] = _render(parts, translations)
        else:
            out[key][index] = _render(parts, translations)
    for key in META_LABEL_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and (mapped := yes_no(value, source, target)) is not None:
            out[key] = mapped
    return out
