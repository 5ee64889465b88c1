"""Readers for the benchmark files in their real formats, and for prediction files.

- ScienceQA: a JSON list of records with the fields of lmms-eval's ScienceQA-IMG
  (``id``, ``question``, ``choices``, ``answer`` - the index of the right choice -
  ``hint``, ``image``, ``subject``, ``category``, ...). ScienceQA's own
  problems.json, a JSON object keyed by id, is read too.
- TextVQA 0.5.1: ``{"data": [{"question_id", "question", "image_id", "answers":
  [10 strings]}, ...]}``.
- POPE: JSON lines ``{"question_id", "image", "text", "label": "yes"|"no"}``, one
  file per negative-sampling split; an optional ``category`` (LLaVA's merged
  llava_pope_test.jsonl) names the split.
- Predictions: JSON lines ``{"question_id", "prediction"}``.

Question ids are compared as strings: TextVQA and POPE use integers, and a predictions
file written by another tool often quotes them. Every problem raises
``BenchmarkFormatError`` naming the file, the record and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn


class BenchmarkFormatError(ValueError):
    """A benchmark or predictions file is not in the expected format."""


@dataclass(frozen=True)
class ScienceQAItem:
    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    hint: str = ""
    image: str | None = None
    subject: str = ""
    category: str = ""


@dataclass(frozen=True)
class TextVQAItem:
    question_id: str
    question: str
    image_id: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class PopeItem:
    question_id: str
    image: str
    text: str
    label: str
    category: str = ""


class _Record:
    """One record of a file, with errors that say where it is."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            self.fail(f"expected a JSON object, got {type(data).__name__}")
        self.data: dict[str, Any] = data

    def fail(self, message: str) -> NoReturn:
        raise BenchmarkFormatError(f"{self.path}: {self.where}: {message}")

    def get(self, field: str, kinds: type | tuple[type, ...], *, required: bool = True) -> Any:
        if field not in self.data or (not required and self.data[field] is None):
            if required:
                self.fail(f"missing field {field!r}")
            return None
        value = self.data[field]
        # bool is an int in Python; a true/false id or answer index is a mistake.
        if not isinstance(value, kinds) or isinstance(value, bool):
            names = kinds if isinstance(kinds, tuple) else (kinds,)
            expected = " or ".join(kind.__name__ for kind in names)
            self.fail(f"field {field!r} should be {expected}, got {value!r}")
        return value

    def identifier(self, field: str) -> str:
        return str(self.get(field, (str, int)))

    def strings(self, field: str) -> tuple[str, ...]:
        values = self.get(field, list)
        for position, value in enumerate(values):
            if not isinstance(value, str):
                self.fail(f"field {field!r}[{position}] should be str, got {value!r}")
        return tuple(values)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BenchmarkFormatError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        ) from None


def _jsonl_records(path: Path) -> list[_Record]:
    records: list[_Record] = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"record {len(records)} (line {line_number})"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchmarkFormatError(f"{path}: {where}: not valid JSON: {error.msg}") from None
        records.append(_Record(path, where, data))
    return records


def _check_unique(path: Path, ids: list[str], field: str) -> None:
    seen: dict[str, int] = {}
    for index, value in enumerate(ids):
        if value in seen:
            raise BenchmarkFormatError(
                f"{path}: record {index}: {field} {value!r} repeats record {seen[value]}"
            )
        seen[value] = index


def read_scienceqa(path: Path) -> list[ScienceQAItem]:
    """ScienceQA records (JSON list, or problems.json's object keyed by id)."""
    path = Path(path)
    data = _load_json(path)
    records: list[_Record]
    if isinstance(data, dict):  # problems.json: {"4": {...}, ...}
        records = [
            _Record(path, f"record {key!r}", {"id": key, **v} if isinstance(v, dict) else v)
            for key, v in data.items()
        ]
    elif isinstance(data, list):
        records = [_Record(path, f"record {index}", value) for index, value in enumerate(data)]
    else:
        raise BenchmarkFormatError(f"{path}: expected a JSON list of ScienceQA records")
    items = []
    for record in records:
        choices = record.strings("choices")
        if len(choices) < 2:
            record.fail(f"field 'choices' needs at least 2 choices, got {len(choices)}")
        answer = record.get("answer", int)
        if not 0 <= answer < len(choices):
            record.fail(f"field 'answer' is {answer}, outside choices 0..{len(choices) - 1}")
        items.append(
            ScienceQAItem(
                id=record.identifier("id"),
                question=record.get("question", str),
                choices=choices,
                answer=answer,
                hint=record.get("hint", str, required=False) or "",
                image=record.get("image", str, required=False),
                subject=record.get("subject", str, required=False) or "",
                category=record.get("category", str, required=False) or "",
            )
        )
    _check_unique(path, [item.id for item in items], "id")
    return items


def read_textvqa(path: Path) -> list[TextVQAItem]:
    """TextVQA questions with their human answers (the 0.5.1 json layout)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise BenchmarkFormatError(
            f"{path}: expected a JSON object with a 'data' list (TextVQA 0.5.1)"
        )
    items = []
    for index, value in enumerate(data["data"]):
        record = _Record(path, f"record {index}", value)
        items.append(
            TextVQAItem(
                question_id=record.identifier("question_id"),
                question=record.get("question", str),
                image_id=record.identifier("image_id"),
                answers=record.strings("answers"),
            )
        )
    _check_unique(path, [item.question_id for item in items], "question_id")
    return items


def read_pope(path: Path) -> list[PopeItem]:
    """POPE questions of one split file (or LLaVA's merged file with ``category``)."""
    path = Path(path)
    items = []
    for record in _jsonl_records(path):
        label = record.get("label", str)
        if label not in ("yes", "no"):
            record.fail(f"field 'label' should be 'yes' or 'no', got {label!r}")
        items.append(
            PopeItem(
                question_id=record.identifier("question_id"),
                image=record.get("image", str),
                text=record.get("text", str),
                label=label,
                category=record.get("category", str, required=False) or "",
            )
        )
    _check_unique(path, [item.question_id for item in items], "question_id")
    return items


def read_predictions(path: Path) -> dict[str, str]:
    """Predictions by question id, in file order."""
    path = Path(path)
    records = _jsonl_records(path)
    ids = [record.identifier("question_id") for record in records]
    _check_unique(path, ids, "question_id")
    return {qid: record.get("prediction", str) for qid, record in zip(ids, records, strict=True)}
