"""What every importer shares: the record it yields, its errors, file readers and checks.

Importers parse one source format into `ItemRecord`s and raise `ImportFormatError` on
the first bad record; `audit.services.import_dataset` writes the records in one
transaction, so a bad record anywhere means nothing from that run is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


class ImportFormatError(ValueError):
    """A problem in the input, located by file, record (or line) and field."""

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        record: int | None = None,
        record_id: Any = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file, self.problem = str(file), problem
        self.record, self.record_id, self.field, self.line = record, record_id, field, line
        where = [self.file]
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}" + (f" (id {record_id!r})" if record_id is not None else ""))
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {problem}")


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~1 µs more per record
class ItemRecord:
    external_id: str
    image: str
    conversations: list[dict[str, str]]
    task_type: str
    split: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Records:
    """An importer's output: how many records to expect (for the progress bar) and them."""

    total: int
    items: Iterable[ItemRecord]

    def __iter__(self) -> Iterator[ItemRecord]:
        return iter(self.items)


class ImageIndex:
    """The files under an image root, listed once, so checking 558k paths costs no stat each."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ImportFormatError(root, "image directory does not exist (--images)")
        self._paths: set[str] | None = None

    def paths(self) -> set[str]:
        if self._paths is None:
            found: set[str] = set()
            for dirpath, _dirs, files in os.walk(self.root):
                rel = os.path.relpath(dirpath, self.root)
                prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
                found.update(prefix + name for name in files)
            self._paths = found
        return self._paths

    def __contains__(self, relative: str) -> bool:
        return relative in self.paths()


@dataclass
class Context:
    """Options every importer may use."""

    images: ImageIndex | None = None
    split: str = ""


def read_json(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read file: {exc.strerror}") from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from exc


def read_json_lines(path: Path) -> list[tuple[int, Any]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read file: {exc.strerror}") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append((number, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            raise ImportFormatError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=number) from exc
    return out


class Checker:
    """Field checks for one record, raising errors that say where the record is."""

    __slots__ = ("file", "index", "record_id", "line")

    def __init__(self, file: Path, index: int, record_id: Any = None, line: int | None = None) -> None:
        self.file, self.index, self.record_id, self.line = file, index, record_id, line

    def fail(self, field: str | None, problem: str) -> ImportFormatError:
        return ImportFormatError(
            self.file, problem, record=self.index, record_id=self.record_id, field=field, line=self.line
        )

    def get(self, record: Any, key: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        if not isinstance(record, dict):
            raise self.fail(None, f"expected a JSON object, got {json_type(record)}")
        if key not in record or record[key] is None:
            if required:
                raise self.fail(key, "missing")
            return None
        value = record[key]
        # bool is an int in Python, never a valid id, index or text here.
        if isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(key, f"expected {type_name(kind)}, got {json_type(value)}")
        return value

    def identifier(self, record: Any, key: str) -> str:
        value = self.get(record, key, (str, int))
        text = str(value).strip()
        if not text:
            raise self.fail(key, "empty")
        self.record_id = text
        return text

    def image(self, path: str, field: str, context: Context) -> str:
        relative = path.strip().removeprefix("./")
        if not relative:
            raise self.fail(field, "empty image path")
        if relative.startswith("/") or ".." in relative.split("/"):
            raise self.fail(field, f"image path {path!r} must be relative to the image directory")
        if context.images is not None and relative not in context.images:
            raise self.fail(field, f"image {relative!r} does not exist under {context.images.root}")
        return relative


def type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object", float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return type_name(type(value))
