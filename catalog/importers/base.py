"""What every importer shares: the record it yields, its errors, file readers and checks.

Importers parse one source format into `ItemRecord`s and raise `ImportFormatError` on
the first bad record; `catalog.services.import_dataset` writes the records in one
transaction, so a bad record anywhere means nothing from that run is written.

Every check that the database would otherwise make (a NUL PostgreSQL refuses, an id
longer than its column) or that protects what reads the items later (an image that
is a symlink out of the image root, a 50 MB turn) is made here, per record, before
the record reaches the database: SQLite and PostgreSQL give the same message.
"""

from __future__ import annotations

import os
import re
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
            where.append(f"record {record}" + (f" (id {_shown(record_id)})" if record_id is not None else ""))
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {problem}")


def _shown(value: Any, width: int = 60) -> str:
    """A value as a message shows it: repr, cut short (a 10,000-character id stays readable)."""
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 1]}…' ({len(str(value)):,} characters)"


# C0 control characters except tab, line feed and carriage return: PostgreSQL refuses NUL in
# text and jsonb, and none of them belongs in a conversation or an id.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
IMAGE_PATH_CHARS = 500  # Item.image's max_length
SPLIT_CHARS = 32  # Item.split's max_length


@dataclass(frozen=True)
class Limits:
    """Size caps per record (IMPORT_MAX_* settings; catalog.services fills them in)."""

    turn_chars: int = 32_000  # any one text: a turn, a choice, a hint, a lecture
    record_bytes: int = 1_000_000  # a record as JSON (JSON Lines: its line, refused before it is read whole)
    id_chars: int = 200  # Item.external_id's max_length


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
    """The files under an image root, listed once, so checking 558k paths costs no stat each.

    Only files that stay under the root count: a symlink is resolved (symlinks followed,
    `resolve(strict=True)`) when the root is listed, and one that leads outside it (say
    `evil.png -> /etc/passwd`) is not an image of this dataset: training would open it.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ImportFormatError(root, "image directory does not exist (--images)")
        self._paths: set[str] | None = None

    def paths(self) -> set[str]:
        if self._paths is None:
            found: set[str] = set()
            pending = [(str(self.root), "")]
            while pending:  # os.walk's listing, with each entry's symlink flag kept (no extra stat)
                directory, prefix = pending.pop()
                with os.scandir(directory) as entries:
                    for entry in entries:
                        name = prefix + entry.name
                        if entry.is_dir(follow_symlinks=False):
                            pending.append((entry.path, name + "/"))
                        elif entry.is_symlink():
                            if self.resolve(name) is not None:
                                found.add(name)
                        elif entry.is_file(follow_symlinks=False):
                            found.add(name)
            self._paths = found
        return self._paths

    def __contains__(self, relative: str) -> bool:
        return relative in self.paths()

    def resolve(self, relative: str) -> Path | None:
        """The file a relative path names, symlinks followed, if it is a file under the root."""
        try:
            target = (self.root / relative).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a broken link, a symlink loop
            return None
        return target if target.is_relative_to(self.root) and target.is_file() else None

    def problem(self, relative: str) -> str | None:
        """None for an image of this root; else what is wrong with it (outside, or missing)."""
        if relative in self.paths() or self.resolve(relative) is not None:
            return None  # the second: through a symlinked directory that stays inside
        try:
            outside = not (self.root / relative).resolve(strict=True).is_relative_to(self.root)
        except (OSError, RuntimeError):
            outside = False
        if outside:
            return f"image {relative!r} resolves outside the image root {self.root}"
        return f"image {relative!r} does not exist under {self.root}"


@dataclass
class Context:
    """Options every importer may use."""

    images: ImageIndex | None = None
    split: str = ""
    limits: Limits = field(default_factory=Limits)


def read_json(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read file: {exc.strerror}") from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from exc


def read_json_lines(path: Path, max_line_bytes: int = Limits.record_bytes) -> list[tuple[int, Any]]:
    """(line number, object) for each non-blank line of a JSON Lines file.

    Read a line at a time, at most `max_line_bytes` + 1 of it: a longer line is refused
    without being read whole (a 50 MB one-line record never sits in memory).
    """
    out = []
    try:
        with path.open("rb") as file:
            number = 0
            while line := file.readline(max_line_bytes + 1):
                number += 1
                if len(line) > max_line_bytes and not line.endswith(b"\n"):
                    raise ImportFormatError(
                        path, f"record is over {max_line_bytes:,} bytes (IMPORT_MAX_RECORD_BYTES)", line=number
                    )
                if not line.strip():
                    continue
                try:
                    out.append((number, orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise ImportFormatError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=number) from exc
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read file: {exc.strerror}") from exc
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

    def identifier(self, record: Any, key: str, limits: Limits = Limits()) -> str:
        value = self.get(record, key, (str, int))
        text = str(value).strip()
        if not text:
            raise self.fail(key, "empty")
        self.record_id = text
        self.text(text, key)
        self.id_length(text, key, limits)
        return text

    def id_length(self, external_id: str, field: str, limits: Limits) -> None:
        if len(external_id) > limits.id_chars:
            raise self.fail(
                field, f"id of {len(external_id):,} characters; at most {limits.id_chars} (IMPORT_MAX_ID_CHARS)"
            )

    def text(self, value: str, field: str, max_chars: int | None = None) -> None:
        """No control character but tab, line feed, carriage return; at most `max_chars`."""
        found = CONTROL_CHARACTERS.search(value)
        if found:
            code = ord(found.group())
            name = "a NUL character" if code == 0 else "a control character"
            raise self.fail(field, f"contains {name} (U+{code:04X}) at position {found.start()}")
        if max_chars is not None and len(value) > max_chars:
            raise self.fail(field, f"{len(value):,} characters; at most {max_chars:,} (IMPORT_MAX_TURN_CHARS)")

    def scan(self, record: Any, limits: Limits) -> None:
        """Every string of the record, keys included, through `text`; the record under its byte cap.

        Run before a format reads its fields, so a NUL or a 50 MB turn anywhere is named
        by its path in the source ('conversations[3].value', 'choices[1]').
        """
        if self.line is None:  # JSON Lines records were measured as lines (read_json_lines)
            size = len(orjson.dumps(record))
            if size > limits.record_bytes:
                raise self.fail(None, f"record is {size:,} bytes; at most {limits.record_bytes:,} (IMPORT_MAX_RECORD_BYTES)")
        stack: list[tuple[str, Any]] = [("", record)]
        while stack:  # not recursive: orjson accepts nesting deeper than Python's recursion limit
            where, value = stack.pop()
            if isinstance(value, str):
                self.text(value, where or "(record)", limits.turn_chars)
            elif isinstance(value, dict):  # pushed in reverse: the first bad field in file order is named
                for key, item in reversed(value.items()):
                    inner = f"{where}.{key}" if where else str(key)
                    self.text(str(key), inner)
                    stack.append((inner, item))
            elif isinstance(value, list):
                stack.extend((f"{where}[{i}]", value[i]) for i in reversed(range(len(value))))

    def short(self, value: str, field: str, max_chars: int) -> str:
        """A value stored in a column of `max_chars` (split, image path)."""
        if len(value) > max_chars:
            raise self.fail(field, f"{len(value):,} characters; at most {max_chars}")
        return value

    def image(self, path: str, field: str, context: Context) -> str:
        relative = path.strip().removeprefix("./")
        if not relative:
            raise self.fail(field, "empty image path")
        self.text(relative, field)
        self.short(relative, field, IMAGE_PATH_CHARS)
        if relative.startswith("/") or ".." in relative.split("/"):
            raise self.fail(field, f"image path {path!r} must be relative to the image directory")
        if context.images is not None:
            problem = context.images.problem(relative)
            if problem:
                raise self.fail(field, problem)
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
