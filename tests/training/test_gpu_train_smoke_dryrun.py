"""bench/gpu_train_smoke.sh --dry-run runs the GPU smoke test's whole code path on a CPU."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_train_smoke.sh"


@pytest.mark.slow
def test_dry_run_trains_both_models_and_reports_throughput() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for model in ("tiny", r"1b/16"):
        line = re.search(rf"^{model}: .*$", result.stdout, re.MULTILINE)
        assert line, result.stdout
        assert re.search(r"2 steps in [\d.]+ s, [\d.]+ samples/s, \d+ tokens/s, peak GPU memory", line.group(0))
    assert result.stdout.rstrip().endswith("gpu_train_smoke: ok")
