"""Fixtures for the world generator's tests: one small world per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from world_readers import read_json

from world.generator import generate_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The `small` world with seed 0: (directory, manifest)."""
    out = tmp_path_factory.mktemp("world-tests") / "small"
    return out, generate_world(out, seed=0, size="small")


@pytest.fixture(scope="session")
def world_dir(world: tuple[Path, dict[str, Any]]) -> Path:
    return world[0]


@pytest.fixture(scope="session")
def scenes(world_dir: Path) -> dict[str, dict[str, Any]]:
    """Ground truth by image file name."""
    return {s["file_name"]: s for s in read_json(world_dir / "scenes.json")}
