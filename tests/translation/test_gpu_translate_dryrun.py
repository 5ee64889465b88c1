"""The GPU translation benchmark plans its run on a CPU (--dry-run) without vLLM."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from translation.engines import EngineUnavailable, get_engine
from translation.prompts import PROMPT_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "bench" / "gpu_translate.sh"


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )


def plan_of(stdout: str) -> dict:  # type: ignore[type-arg]
    return json.loads(stdout[: stdout.rindex("}") + 1])


def test_dry_run_builds_prompts_from_a_world_sample(tmp_path: Path) -> None:
    items = [
        {
            "conversations": [
                {"from": "human", "value": "<image>\nWhat colour is the star?"},
                {"from": "gpt", "value": "Yellow."},
            ],
            "task_type": "colour",
        },
        {
            "conversations": [
                {"from": "human", "value": "<image>\nIs there a circle?"},
                {"from": "gpt", "value": "Yes"},
            ],
            "task_type": "yes_no",
        },
    ]
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(items))
    done = run_bench(
        "--dry-run", "--sample", str(sample), "--num-prompts", "10", "--workdir", str(tmp_path / "work")
    )
    assert done.returncode == 0, done.stderr
    plan = plan_of(done.stdout)
    assert plan["mode"] == "dry-run" and plan["prompts"] == 10
    # "Yes" is mapped by rule, "<image>" stripped: three segments go to the model.
    assert plan["distinct_segments"] == 3
    assert plan["prompt_version"] == PROMPT_VERSION
    assert plan["first_prompt"][1] == {"role": "user", "content": "What colour is the star?"}
    assert plan["weights"].startswith("random") and plan["sampling"]["ignore_eos"] is True
    model = Path(plan["model"])
    config = json.loads((model / "config.json").read_text())
    assert config["hidden_size"] == 4096 and config["num_hidden_layers"] == 32
    assert len(json.loads((model / "tokenizer.json").read_text())["model"]["vocab"]) == config["vocab_size"]
    assert "vllm not imported" in done.stdout


def test_dry_run_accepts_plain_text_lines_and_no_sample(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("A red circle.\nTwo blue squares.\n")
    work = ["--workdir", str(tmp_path / "work")]
    assert (
        plan_of(run_bench("--dry-run", "--sample", str(lines), "--num-prompts", "4", *work).stdout)[
            "distinct_segments"
        ]
        == 2
    )
    assert plan_of(run_bench("--dry-run", "--num-prompts", "3", *work).stdout)["prompts"] == 3


def test_bad_arguments_are_refused_with_a_message(tmp_path: Path) -> None:
    done = run_bench("--dry-run", "--sample", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "no such file" in done.stderr
    assert run_bench("--dry-run", "--num-prompts", "0").returncode == 2


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_engine_without_vllm_says_how_to_install_it() -> None:
    with pytest.raises(EngineUnavailable, match="pip install vllm in an environment of its own .* `openai` engine"):
        get_engine("vllm")
