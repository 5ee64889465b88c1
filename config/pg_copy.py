"""Rows into PostgreSQL through `COPY ... FROM STDIN`: the one escaping function and the one writer.

Three bulk writes use it: the import (catalog/services.py), a campaign's entries
(audit/campaigns.py) and a translation job's rows (translation/store.py). Each formats a
row once, in Python, as a line of COPY's text format and hands lines over in chunks;
psycopg's `write_row` costs ~20 µs a row, which the import benchmark (bench/import_bench.py)
cannot afford against a raw COPY.

The text format (PostgreSQL's COPY page, "Text Format"): columns separated by a tab, a
row ended by a newline, `\\N` for NULL, and inside a value a backslash escapes the next
character, so backslash, tab, newline and carriage return are written `\\\\`, `\\t`, `\\n`,
`\\r`. Everything else, any Unicode character, goes through as it is. A NUL cannot be
stored at all (PostgreSQL refuses the whole COPY); the callers refuse it first, naming the
record (catalog/importers/base.py, config/inputs.py). tests/config/test_pg_copy.py
round-trips awkward values through a real COPY.
"""

from __future__ import annotations

from collections.abc import Iterable

NULL = "\\N"


def copy_text(value: str) -> str:
    """`value` as one column of COPY's text format. A JSON text too: orjson escapes control
    characters itself, so only the backslashes of its escapes get doubled."""
    # A test before each replace: most values hold none of the four, and a scan costs less
    # than a replace; JSON (nearly always a backslash) pays one replace, not four.
    # Backslashes first, so the escapes added after them are not doubled.
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def write_lines(raw_cursor, statement: str, lines: Iterable[str], chunk_rows: int = 2000) -> None:
    """Run `statement` (a `COPY ... FROM STDIN`) on psycopg's own cursor, sending `lines`
    (each a row in COPY's text format, newline included) joined in chunks of `chunk_rows`:
    few enough writes to keep the client ahead of the server, bounded memory."""
    with raw_cursor.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= chunk_rows:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))
