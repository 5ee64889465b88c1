"""The GPU workers' requirements resolve: uv's resolver reads package metadata only (nothing is
built or installed), so a set that pip would backtrack through for an hour fails here in seconds.

Needs PyPI (CI has it). PyTorch's CUDA index (docker-compose.yml's gpu-worker TORCH_INDEX) is
added when reachable; otherwise PyPI's torch stands in, which has the same versions (its Linux
wheels are CUDA builds too).
"""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from uv import find_uv_bin

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def pins(text: str) -> dict[str, str]:
    """name → version of each `name==version` line (extras and local versions dropped)."""
    found = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.split("[")[0].strip().lower().replace("_", "-")] = version.split("+")[0].strip()
    return found


def reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def resolved() -> dict[str, str]:
    torch_index = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["gpu-worker"]["build"]["args"]["TORCH_INDEX"]
    command = [find_uv_bin(), "pip", "compile", "requirements-gpu.txt", "--python-version", "3.11",
               "--python-platform", "x86_64-manylinux_2_28", "--no-header", "--no-annotate", "--quiet"]  # fmt: skip
    if reachable(torch_index + "/torch/"):
        # pip (the Dockerfile) takes the best version across indexes; uv must be told to.
        command += ["--extra-index-url", torch_index, "--index-strategy", "unsafe-best-match"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"requirements-gpu.txt does not resolve:\n{result.stderr[-3000:]}"
    return pins(result.stdout)


def test_gpu_requirements_resolve_to_every_pin_of_requirements_txt(resolved):
    wanted = pins((ROOT / "requirements.txt").read_text())
    assert {name: resolved.get(name) for name in wanted} == wanted


def test_gpu_requirements_keep_vllm_out_of_the_worker_image(resolved):
    """vLLM pins its own torch (0.34.0: torch==2.14.0); translation with it goes to the vllm service."""
    assert "vllm" not in resolved
    assert resolved["torch"] == "2.13.0"
