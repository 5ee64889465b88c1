"""Readers for the world's files (plain JSON, and POPE's JSON lines), shared by the tests.

A plain module, not conftest.py: tests/conftest.py exists too, so "import conftest"
would be ambiguous.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
