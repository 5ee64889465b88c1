"""Writing a snapshot's file and frozen item list: the build's inner loop.

Two loops, one output. `_write_portable` reads the candidate tuples (any database) and
writes each kept row with the Python writer of formats.py: the definition of every
format. On PostgreSQL, `_write_copy` streams `query.record_sql` through COPY: the
database has already decided each row and written the records it can vouch for, so
Python frames, hashes and counts; the rows it could not (post-edits, turns to repair,
benchmarks) arrive as candidate tuples and go through the same Python writer.
Either way: same rule, same data, same bytes, and one batch of rows in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from django.db import connection, transaction

from config.database import is_postgresql

from .balance import BalanceCounter, answer_type
from .formats import ExportRow, Writer, writer_for
from .query import DELIMITER, Candidate, candidates, record_sql
from .rules import RuleSpec, decide

FLUSH_EVERY = 2000  # records per write: bounded memory, few system calls


@dataclass
class BuildResult:
    item_count: int = 0
    sha256: str = ""
    size_bytes: int = 0
    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {"grade": Counter(), "task_type": Counter(), "source": Counter()}
    )
    balance: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0


class _Output:
    """The file (hashed as written) and the frozen id list, written under .part names."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.partial = target.with_suffix(target.suffix + ".part")
        self.items_partial = target.with_suffix(".items.part")
        self.digest = hashlib.sha256()
        self.buffer: list[bytes] = []
        self.ids: list[bytes] = []
        self.out: IO[bytes] = open(self.partial, "wb")
        self.items: IO[bytes] = open(self.items_partial, "wb")

    def add(self, data: bytes, item_id: bytes, tid: bytes) -> None:
        self.buffer.append(data)
        self.ids.append(item_id + b"\t" + tid + b"\n")
        if len(self.buffer) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        chunk = b"".join(self.buffer)
        self.out.write(chunk)
        self.digest.update(chunk)
        self.items.write(b"".join(self.ids))
        self.buffer.clear()
        self.ids.clear()

    def close(self, result: BuildResult, *, keep: bool) -> None:
        self.out.close()
        self.items.close()
        if not keep:
            self.partial.unlink(missing_ok=True)
            self.items_partial.unlink(missing_ok=True)
            return
        result.sha256 = self.digest.hexdigest()
        result.size_bytes = self.partial.stat().st_size
        os.replace(self.partial, self.target)
        os.replace(self.items_partial, self.target.with_suffix(".items"))


def write_export(spec: RuleSpec, format: str, target: Path, *, rule_digest: str, portable: bool = False) -> BuildResult:
    """Stream the rule's kept rows into `target` (and the frozen id list beside it).

    `portable` forces the Python loop on PostgreSQL too (the tests compare the two)."""
    writer = writer_for(format, rule_digest)
    balance = BalanceCounter()
    result = BuildResult()
    output = _Output(target)
    done = False
    try:
        output.buffer.append(writer.begin())
        with transaction.atomic():
            if is_postgresql() and not portable:
                _write_copy(spec, format, rule_digest, writer, balance, result, output)
            else:
                _write_portable(spec, writer, balance, result, output)
        output.buffer.append(writer.end())
        output.flush()
        done = True
    finally:
        output.close(result, keep=done)
    result.balance = {**balance.report(), "skipped_malformed": result.skipped}
    return result


def _keep_slow(row: Candidate, source: str, writer: Writer, balance: BalanceCounter, result: BuildResult,
               output: _Output) -> bool:  # fmt: skip
    """Write one kept candidate with the Python writer; False when its turns cannot be written."""
    export_row = _export_row(row, source)
    data = writer.record(export_row)
    if data is None:
        result.skipped += 1
        return False
    output.add(data, str(row[1]).encode(), str(row[0]).encode())
    result.item_count += 1
    result.counts["grade"][export_row.grade] += 1
    result.counts["task_type"][export_row.task_type] += 1
    result.counts["source"][source] += 1
    balance.keep(export_row.task_type, export_row.turns, export_row.post_edited, _letter(export_row))
    return True


def _write_portable(spec: RuleSpec, writer: Writer, balance: BalanceCounter, result: BuildResult,
                    output: _Output) -> None:  # fmt: skip
    last_item = None
    for row in candidates(spec, with_meta=True):
        if row[1] == last_item:
            continue  # an item with several kept translations: the first (lowest id) wins
        balance.candidate(row[5])
        source = decide(spec, row[14], row[15], row[13])
        if source is not None and _keep_slow(row, source, writer, balance, result, output):
            last_item = row[1]


def _write_copy(spec: RuleSpec, format: str, rule_digest: str, writer: Writer, balance: BalanceCounter,
                result: BuildResult, output: _Output) -> None:  # fmt: skip
    """The PostgreSQL loop: per row a split, a few dict updates and an append."""
    sql, params = record_sql(spec, format, rule_digest)
    candidates_by_task: dict[bytes, int] = {}
    kept: dict[tuple[bytes, bytes, bytes], int] = {}  # (grade, task type, source) -> records
    answers: dict[tuple[bytes, tuple, bytes], int] = {}  # (task type, answer kinds, letter) -> records
    kinds_of: dict[bytes, tuple] = {}  # answer JSON -> its kind (answers repeat: yes, no, letters)
    frame = writer.frame
    last_item = b""
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("SET LOCAL work_mem = '256MB'")  # the ordered scan sorts once, in memory
    with raw.cursor() as cursor, cursor.copy(sql, params) as copy:
        for line in copy:
            item_id, tid, task, source, grade, record, candidate, answer, letter = bytes(line)[:-1].split(DELIMITER)
            if item_id == last_item:
                continue  # an item with several kept translations: the first (lowest id) wins
            candidates_by_task[task] = candidates_by_task.get(task, 0) + 1
            if not source:
                continue
            if not record:
                if _keep_slow(orjson.loads(candidate), orjson.loads(source), writer, balance, result, output):
                    last_item = item_id
                continue
            last_item = item_id
            output.add(frame(record), item_id, tid)
            key = (grade, task, source)
            kept[key] = kept.get(key, 0) + 1
            kinds = kinds_of.get(answer)
            if kinds is None:
                if len(kinds_of) > 100_000:
                    kinds_of.clear()  # bounded memory when every answer differs (captions)
                # the one gpt turn's value, as JSON text (query.record_sql's fast rows are question + answer)
                kinds = kinds_of[answer] = (answer_type(orjson.loads(answer)),)
            key2 = (task, kinds, letter)
            answers[key2] = answers.get(key2, 0) + 1
    for task_json, n in candidates_by_task.items():
        balance.candidate(orjson.loads(task_json), times=n)
    for (grade, task_json, source), n in kept.items():
        task = orjson.loads(task_json)
        result.item_count += n
        result.counts["grade"][orjson.loads(grade)] += n
        result.counts["task_type"][task] += n
        result.counts["source"][orjson.loads(source)] += n
    for (task_json, kinds, letter), n in answers.items():
        balance.keep_kinds(orjson.loads(task_json), kinds, False, letter.decode() or None, times=n)


def _export_row(row: Candidate, source: str) -> ExportRow:
    turns = orjson.loads(row[7])
    post_edited = False
    for edited in (row[16], row[17]):  # the final post-edit, else (rule option) an annotator's
        if edited:
            value = orjson.loads(edited)
            if value:
                turns, post_edited = _edited_turns(turns, value), True
                break
    grade = row[14] if row[14] is not None else row[13]
    return ExportRow(
        dataset=row[2], external_id=row[3], image=row[4], task_type=row[5], split=row[6],
        turns=turns, item_meta=row[8], translation_meta=row[9], grade=grade, source=source,
        post_edited=post_edited, engine=row[10], model=row[11], prompt_version=row[12],
        translation_id=row[0],
    )  # fmt: skip


def _edited_turns(turns: Any, edited: Any) -> Any:
    """A post-edit as turns. The grading API stores one corrected string per turn
    (audit/grading.py clean_grade); those take the translation's roles. Whole turns pass as they are."""
    if isinstance(edited, list) and edited and all(isinstance(text, str) for text in edited):
        if not isinstance(turns, list) or len(turns) != len(edited):
            return []  # cannot be matched to turns: the writer reports the row as malformed
        return [{"from": turn.get("from") if isinstance(turn, dict) else None, "value": text}
                for turn, text in zip(turns, edited, strict=True)]  # fmt: skip
    return edited


def _letter(row: ExportRow) -> str | None:
    if row.task_type != "scienceqa" or not row.item_meta:
        return None
    answer = orjson.loads(row.item_meta).get("answer")
    return "ABCDEFGHIJ"[answer] if isinstance(answer, int) and 0 <= answer < 10 else None
