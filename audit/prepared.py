"""Hot-path statements run as prepared statements on Django's own connection (PostgreSQL only).

Django's psycopg backend binds parameters on the client and never prepares, so each
statement is parsed and planned again: ~1-2 ms per statement of the grading hot path
(docs/performance.md). Here the statement goes through a server-side binding cursor on
the same connection (so it takes part in the caller's transaction.atomic) with
``prepare=True``: planned once per connection, then only bound and executed.
Statements are logged like Django's own when queries are being captured, so
CaptureQueriesContext (tests/audit/test_grading_query_budget.py) counts them.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.db import connection

NEVER_ON_ITS_OWN = 2**31 - 1
"""psycopg ignores prepare=True while the connection's prepare_threshold is None, which is how
Django opens it. A threshold no statement reaches turns preparing on for the statements that
ask (here) and leaves Django's own queries unprepared, as before."""


def run(sql: str, params: dict[str, Any]) -> psycopg.Cursor:
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = NEVER_ON_ITS_OWN
    cursor = psycopg.Cursor(raw)
    started = time.monotonic()
    with connection.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
    if connection.queries_logged:
        connection.queries_log.append({"sql": " ".join(sql.split()), "time": f"{time.monotonic() - started:.3f}"})
    return cursor
