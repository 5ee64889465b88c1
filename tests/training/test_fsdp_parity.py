"""Training on 2 ranks with FSDP2 (gloo on CPUs) is the same training as on one process.

Same global batch, same seed: the loss curves of a full stage, a LoRA stage and a stage
with a frozen part agree within 1e-4 relative over 20 steps; each rank holds half of the
parameters and of the AdamW states; a checkpoint written by 2 ranks resumes on 1 and
continues the uninterrupted curve; the model the 2 ranks save equals the one process's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.presets import load_model

PROBE = Path(__file__).with_name("fsdp_probe.py")
ROOT = Path(__file__).resolve().parents[2]
KINDS = ("full", "lora", "frozen")

pytestmark = pytest.mark.slow


def probe(world: Path, out: Path, *, ranks: int, resume_from: Path | None = None) -> dict:
    out.mkdir(parents=True)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
    command = [*(launcher if ranks > 1 else [sys.executable]), str(PROBE), str(world), str(out)]
    if resume_from:
        command += ["--resume-from", str(resume_from)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def runs(small_world: Path, tmp_path_factory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("fsdp")
    one = probe(small_world, base / "one", ranks=1)
    two = probe(small_world, base / "two", ranks=2)
    resumed = probe(small_world, base / "resumed", ranks=1, resume_from=base / "two")
    return {"one": one, "two": two, "resumed": resumed, "base": base}


def relative_gap(a: list, b: list) -> float:
    first, second = dict(a), dict(b)
    assert set(second) <= set(first) and second
    return max(abs(first[step] - second[step]) / abs(first[step]) for step in second)


@pytest.mark.parametrize("kind", KINDS)
def test_two_ranks_give_the_one_process_loss_curve(runs, kind) -> None:
    one, two = runs["one"][kind]["losses"], runs["two"][kind]["losses"]
    assert [step for step, _ in one] == [step for step, _ in two] == list(range(1, 21))
    assert relative_gap(one, two) < 1e-4
    assert one[0][1] != one[-1][1]  # it trained


def test_each_rank_holds_half_the_parameters_and_optimizer_states(runs) -> None:
    one, two = runs["one"]["held"], runs["two"]["held"]
    assert two["parameters"] * 2 == pytest.approx(one["parameters"], rel=0.01)
    assert two["optimizer"] * 2 == pytest.approx(one["optimizer"], rel=0.01)
    assert runs["two"]["ranks"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_two_rank_checkpoint_resumes_on_one_process_and_continues_the_curve(runs, kind) -> None:
    resumed = runs["resumed"][kind]["losses"]
    assert [step for step, _ in resumed] == list(range(11, 21))
    assert relative_gap(runs["one"][kind]["losses"], resumed) < 1e-4


def test_the_model_saved_by_two_ranks_equals_the_one_process_model(runs) -> None:
    for kind in ("full", "lora"):  # the LoRA stage saves its adapters merged
        one, _ = load_model(runs["base"] / "one" / kind / "model")
        two, _ = load_model(runs["base"] / "two" / kind / "model")
        expected = one.state_dict()
        for name, value in two.state_dict().items():
            if name.endswith("self_attn.k_proj.bias"):
                # A key bias adds the same q.b to every logit of a query, which softmax ignores:
                # its gradient is 0 in exact arithmetic and round-off (~1e-10) here, which AdamW
                # scales to lr-sized steps whose sign depends on the order of the sum. No output
                # depends on it; the loss-curve tests above hold both runs to 1e-4.
                continue
            torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5, msg=f"{kind}: {name}")
