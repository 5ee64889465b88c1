"""Which database serves the request: the one question every PostgreSQL fast path asks.

The embedded default is SQLite; production and the tests run PostgreSQL (DATABASE_URL,
config/settings.py). Code with a faster PostgreSQL path (COPY, one-statement writes,
prepared statements, advisory locks) branches on `is_postgresql()`, so
`grep -rn is_postgresql` lists every such path; each keeps a portable path beside it that
a parity test holds equal (tests/audit/test_export_fast_path.py, test_consensus_fast_path.py).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


def is_postgresql(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when the database `using` (the default one unless named) is PostgreSQL."""
    return connections[using].vendor == "postgresql"
