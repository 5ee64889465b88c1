"""Rows written through COPY (config/pg_copy.py) read back exactly as they were written.

The import, a campaign's entries and a translation job's rows all format their lines
with `copy_text` and send them with `write_lines`; a value escaped wrong would be stored
changed (a backslash lost, a tab splitting a column) or refuse the whole batch.
"""

from __future__ import annotations

import orjson
import pytest
from django.db import connection, transaction
from psycopg.errors import DataError

from config.pg_copy import NULL, copy_text, write_lines

AWKWARD = [
    "plain",
    "",
    "tab\there",
    "two lines\nof text",
    "carriage\r\nreturn",
    "back\\slash",
    "\\N",  # the text of NULL's marker, not NULL
    "\\t not a tab",
    "ends with a backslash \\",
    "\\\\double",
    "<image>\nQuelle est la forme ? 😀 é ß 中文 \u00a0\u2028",
    "\u0001 control \u001f characters \u007f",
    '"quoted" , ; | \u001e \u001f',
]


def test_an_escaped_value_holds_no_column_or_row_separator():
    for value in AWKWARD:
        escaped = copy_text(value)
        assert "\t" not in escaped and "\n" not in escaped and "\r" not in escaped
    assert copy_text("plain") == "plain"
    assert copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


@pytest.fixture
def scratch(db):
    """A temporary table with a text and a jsonb column, on psycopg's own cursor."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_scratch (n integer, value text, doc jsonb)")
        yield cursor.cursor


def read_back(raw) -> list[tuple]:
    raw.execute("SELECT n, value, doc FROM copy_scratch ORDER BY n")
    return raw.fetchall()


pg_only = pytest.mark.postgresql(reason="COPY FROM STDIN is PostgreSQL's; SQLite has no COPY")


@pg_only
def test_awkward_text_and_json_round_trip_through_copy(scratch):
    docs = [{"value": value, "turns": [{"from": "human", "value": value}]} for value in AWKWARD]
    lines = (
        f"{n}\t{copy_text(value)}\t{copy_text(orjson.dumps(doc).decode())}\n"
        for n, (value, doc) in enumerate(zip(AWKWARD, docs, strict=True))
    )
    write_lines(scratch, "COPY copy_scratch (n, value, doc) FROM STDIN", lines, chunk_rows=4)
    rows = read_back(scratch)
    assert [value for _, value, _ in rows] == AWKWARD
    assert [doc if isinstance(doc, dict) else orjson.loads(doc) for _, _, doc in rows] == docs


@pg_only
def test_null_is_written_as_null_and_its_text_as_text(scratch):
    write_lines(scratch, "COPY copy_scratch (n, value, doc) FROM STDIN",
                [f"0\t{NULL}\t{NULL}\n", f"1\t{copy_text(NULL)}\t{NULL}\n"])  # fmt: skip
    assert read_back(scratch) == [(0, None, None), (1, "\\N", None)]


@pg_only
def test_every_chunk_arrives_and_an_empty_stream_writes_nothing(scratch):
    write_lines(scratch, "COPY copy_scratch (n, value) FROM STDIN", iter([]), chunk_rows=3)
    assert read_back(scratch) == []
    write_lines(scratch, "COPY copy_scratch (n, value) FROM STDIN", (f"{n}\tv{n}\n" for n in range(10)), chunk_rows=3)
    assert [n for n, _, _ in read_back(scratch)] == list(range(10))


@pg_only
def test_a_nul_refuses_the_whole_copy(scratch):
    """PostgreSQL text cannot hold NUL: the rows before it are not kept either. The importer
    and the API refuse NUL first, naming the record or field (catalog/importers/base.py,
    config/inputs.py), so this is the last line, never a silent truncation."""
    nul = "nul \x00 here"
    lines = [f"0\t{copy_text('fine')}\t{NULL}\n", f"1\t{copy_text(nul)}\t{NULL}\n"]
    with pytest.raises(DataError), transaction.atomic():
        write_lines(scratch, "COPY copy_scratch (n, value, doc) FROM STDIN", lines)
    assert read_back(scratch) == []
