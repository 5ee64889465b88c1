"""Export file formats (pure Python): each turns kept rows into bytes, one record at a time.

- `llava`: the JSON list LLaVA's `LazySupervisedDataset` reads unchanged: `id`, `image`
  (relative to the dataset's image root; absent for text-only records, as LLaVA
  expects), `conversations` with roles alternating human/gpt from a human turn and
  exactly one `<image>`, at the start of the first human turn, when there is an image.
- `jsonl`: the same records, one per line, plus an `audit` object (grade, where the
  grade comes from, engine, model, prompt version, translation id, post-edited or not,
  the rule's digest).
- `benchmark`: the benchmark's own published format, translated: ScienceQA (JSON list),
  TextVQA 0.5.1 (`{"data": [...]}`), POPE (JSON Lines, one split per file, named in `category`), so
  evaluation reads the French benchmark with the readers it uses for the English one.

The file carries no snapshot id or date: the same rule on the same data must give the
same bytes, hence the same sha256 (training jobs reference snapshots by it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

FORMATS = ("llava", "jsonl", "benchmark")
BENCHMARK_TASKS = ("scienceqa", "textvqa", "pope")
IMAGE_TOKEN = "<image>"
_IMAGE_TOKEN = re.compile(r"\n?<image>\n?")


class FormatError(ValueError):
    """The kept rows cannot be written in the asked format (the message says which rows)."""


@dataclass(slots=True)
class ExportRow:
    """One kept translation, with what every format needs (meta as JSON text, parsed only if used)."""

    dataset: str
    external_id: str
    image: str
    task_type: str
    split: str
    turns: list[dict[str, Any]]
    item_meta: str
    translation_meta: str
    grade: str
    source: str
    post_edited: bool
    engine: str
    model: str
    prompt_version: str
    translation_id: int


def llava_turns(turns: list[dict[str, Any]], has_image: bool) -> list[dict[str, str]] | None:
    """Turns as LLaVA's loader wants them, or None when the roles cannot be made to alternate."""
    out: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        role, value = turn.get("from"), turn.get("value")
        if role != ("human", "gpt")[index % 2] or not isinstance(value, str):
            return None
        out.append({"from": role, "value": _IMAGE_TOKEN.sub("\n", value).strip() if IMAGE_TOKEN in value else value})
    if not out or len(out) % 2:
        return None
    if has_image:
        out[0]["value"] = f"{IMAGE_TOKEN}\n{out[0]['value']}"
    return out


def llava_record(row: ExportRow, turns: list[dict[str, str]]) -> dict[str, Any]:
    record: dict[str, Any] = {"id": row.external_id}
    if row.image:
        record["image"] = row.image
    record["conversations"] = turns
    return record


class Writer:
    """begin(), then record(row) per kept row (None: the row cannot be written), then end()."""

    def __init__(self, rule_digest: str) -> None:
        self.rule_digest = rule_digest
        self.written = 0

    def begin(self) -> bytes:
        return b""

    def record(self, row: ExportRow) -> bytes | None:
        raise NotImplementedError

    def frame(self, data: bytes) -> bytes:
        """One record's bytes as they go into the file (separators); PostgreSQL's records too."""
        self.written += 1
        return data

    def end(self) -> bytes:
        return b""


class LlavaWriter(Writer):
    def begin(self) -> bytes:
        return b"["

    def record(self, row: ExportRow) -> bytes | None:
        turns = llava_turns(row.turns, bool(row.image))
        if turns is None:
            return None
        return self.frame(orjson.dumps(llava_record(row, turns)))

    def frame(self, data: bytes) -> bytes:
        self.written += 1
        return (b"\n" if self.written == 1 else b",\n") + data

    def end(self) -> bytes:
        return b"\n]\n"


class JsonlWriter(Writer):
    def record(self, row: ExportRow) -> bytes | None:
        turns = llava_turns(row.turns, bool(row.image))
        if turns is None:
            return None
        record = llava_record(row, turns)
        record.update(dataset=row.dataset, task_type=row.task_type, split=row.split)
        record["audit"] = {
            "grade": row.grade, "grade_source": row.source, "automatic": row.source == "automatic",
            "post_edited": row.post_edited, "engine": row.engine, "model": row.model,
            "prompt_version": row.prompt_version, "translation_id": row.translation_id, "rule": self.rule_digest,
        }  # fmt: skip
        return self.frame(orjson.dumps(record))

    def frame(self, data: bytes) -> bytes:
        self.written += 1
        return data + b"\n"


class BenchmarkWriter(Writer):
    """One benchmark per file: the first row's task type decides which; a mix is an error."""

    def __init__(self, rule_digest: str) -> None:
        super().__init__(rule_digest)
        self.task: str | None = None
        self.split: str | None = None

    def begin(self) -> bytes:
        return b""

    def record(self, row: ExportRow) -> bytes | None:
        if row.task_type not in BENCHMARK_TASKS:
            raise FormatError(
                f"format 'benchmark' needs benchmark items (scienceqa, textvqa or pope); "
                f"{row.dataset}:{row.external_id} is {row.task_type}"
            )
        head = b""
        if self.task is None:
            self.task = row.task_type
            head = {"scienceqa": b"[", "textvqa": b'{"dataset_name":"textvqa","dataset_version":"0.5.1","data":['}.get(
                row.task_type, b""
            )
        elif row.task_type != self.task:
            raise FormatError(
                f"format 'benchmark' writes one benchmark per file; the rule selects {self.task} and "
                f"{row.task_type} ({row.dataset}:{row.external_id}): restrict its datasets or task_types"
            )
        if self.task == "pope":
            # POPE publishes one file per split and repeats question ids across them, so a
            # merged file would not read back (evaluation.metrics.benchmarks.read_pope refuses it).
            if self.split is None:
                self.split = row.split
            elif row.split != self.split:
                raise FormatError(
                    f"format 'benchmark' writes POPE one split per file, as POPE publishes it (question ids repeat "
                    f"across splits); the rule selects {self.split} and {row.split} ({row.dataset}:{row.external_id}): "
                    f"set its splits to one of them"
                )
        record = {"scienceqa": scienceqa_record, "textvqa": textvqa_record, "pope": pope_record}[row.task_type](row)
        self.written += 1
        data = orjson.dumps(record)
        if self.task == "pope":
            return head + data + b"\n"
        return head + (b"\n" if self.written == 1 else b",\n") + data

    def end(self) -> bytes:
        return {"scienceqa": b"\n]\n", "textvqa": b"\n]}\n"}.get(self.task or "", b"")


def _question(row: ExportRow) -> str:
    first = next((t.get("value", "") for t in row.turns if t.get("from") == "human"), "")
    return _IMAGE_TOKEN.sub("\n", first).strip() if isinstance(first, str) else ""


def _metas(row: ExportRow) -> tuple[dict[str, Any], dict[str, Any]]:
    return orjson.loads(row.item_meta or "{}"), orjson.loads(row.translation_meta or "{}")


def scienceqa_record(row: ExportRow) -> dict[str, Any]:
    source, translated = _metas(row)
    record: dict[str, Any] = {"id": row.external_id, "question": _question(row)}
    merged = {**source, **{k: v for k, v in translated.items() if k in ("choices", "hint", "lecture", "solution")}}
    record.update(merged)
    record["answer"] = source.get("answer")  # an index: the choices are translated in place
    record["image"] = row.image or None
    return record


def textvqa_record(row: ExportRow) -> dict[str, Any]:
    source, translated = _metas(row)
    qid: int | str = int(row.external_id) if row.external_id.isdigit() else row.external_id
    record: dict[str, Any] = {
        "question_id": qid, "question": _question(row), "image_id": source.get("image_id", ""),
        "answers": translated.get("answers") or source.get("answers", []), "set_name": source.get("set_name", ""),
    }  # fmt: skip
    if "image_classes" in source:
        record["image_classes"] = source["image_classes"]
    return record


def pope_record(row: ExportRow) -> dict[str, Any]:
    source, _translated = _metas(row)
    # The label stays the benchmark's class (yes / no): the metrics map French answers to it.
    return {
        "question_id": source.get("question_id", row.external_id), "image": row.image,
        "text": _question(row), "label": source.get("label", ""), "category": row.split,
    }  # fmt: skip


WRITERS: dict[str, type[Writer]] = {"llava": LlavaWriter, "jsonl": JsonlWriter, "benchmark": BenchmarkWriter}


def writer_for(format: str, rule_digest: str) -> Writer:
    if format not in WRITERS:
        raise FormatError(f"unknown format {format!r}; expected one of: {', '.join(FORMATS)}")
    return WRITERS[format](rule_digest)
