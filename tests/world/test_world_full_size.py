"""The `full` world is big enough for a tiny model to learn and for the benchmarks to
measure it, and still generates in well under a minute."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from world.generator import generate_world


@pytest.mark.slow
def test_full_world_sizes(tmp_path: Path) -> None:
    start = time.perf_counter()
    counts = generate_world(tmp_path, seed=0, size="full")["counts"]
    assert time.perf_counter() - start < 60
    assert counts["images"] >= 6000
    assert counts["instruct"] >= 30000
    assert counts["scienceqa"] >= 500 and counts["textvqa"] >= 500
    assert min(counts[f"pope_{split}"] for split in ("random", "popular", "adversarial")) >= 500
