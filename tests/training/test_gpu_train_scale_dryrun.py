"""bench/gpu_train_scale.sh --dry-run runs the paper-scale GPU proof's whole code path on a CPU
(the paper's structure at toy widths, sharded by the project's FSDP2 code, three stages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_train_scale.sh"


@pytest.mark.slow
def test_dry_run_trains_the_three_stages_and_reports_throughput_mfu_and_memory() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("pretrain", "lora", "full"):
        line = re.search(rf"^{stage}: .*$", result.stdout, re.MULTILINE)
        assert line, result.stdout
        assert re.search(r"2 steps, [\d.]+ s/step, \d+ tokens/s, MFU .*, peak GPU memory [\d.]+ GiB", line.group(0))
    assert result.stdout.rstrip().endswith("gpu_train_scale: ok")


def test_an_unknown_stage_is_named() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run", "--stages", "pretrain,warp"], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode != 0 and "unknown stage warp; expected some of pretrain, lora, full" in result.stderr
