"""`python manage.py train_plan`: the per-GPU memory table of every stage of a template,
exit status 0 when all fit and 1 when one does not, with what would fit."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError


def train_plan(*arguments: str) -> tuple[int, str, str]:
    """Run the command as manage.py does: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", "train_plan", *arguments]).execute()
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def test_full_finetuning_on_one_gpu_does_not_fit_and_exits_1_with_the_smallest_that_does():
    status, out, err = train_plan("--preset", "paper", "--template", "variant3", "--gpus-per-node", "1", "--gpu-memory", "80")
    assert status == 1
    assert "stage pretrain:" in out and "stage finetune:" in out  # every stage's table
    assert "optimizer states (AdamW m, v in fp32)" in out and "total per GPU" in out
    assert "does not fit" in out
    assert "smallest configuration that fits: 2 GPUs" in out
    assert "1 of 2 stages do not fit" in err


def test_a_template_that_fits_on_eight_gpus_exits_0():
    status, out, _ = train_plan("--preset", "paper", "--template", "variant3", "--nodes", "1", "--gpus-per-node", "8", "--gpu-memory", "80")
    assert status == 0
    assert "8 GPUs (1 node × 8), FSDP sharded" in out
    assert "parameters (bf16, sharded /8)" in out
    assert "does not fit" not in out
    assert out.rstrip().endswith("paper variant3: every stage fits")


def test_options_change_the_plan():
    out = io.StringIO()
    call_command("train_plan", "--preset", "paper", "--template", "variant2", "--gpus-per-node", "8",
                 "--micro-batch", "8", "--sequence-length", "1024", "--no-sharding", stdout=out)
    table = out.getvalue()
    assert "replicated, micro-batch 1 per GPU × 1024 tokens" in table
    assert "FSDP working set" not in table


def test_the_tiny_preset_plans_too():
    out = io.StringIO()
    call_command("train_plan", "--preset", "tiny", "--template", "english_base", "--gpu-memory", "16", stdout=out)
    assert "parameters (fp32" in out.getvalue() and "every stage fits" in out.getvalue()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--preset", "huge", "--template", "variant2"], "unknown preset 'huge'; known presets: tiny, paper"),
        (["--preset", "paper", "--template", "variant9"], "known templates: english_base, variant2, variant3, variant4"),
        (["--preset", "paper", "--template", "variant2", "--no-sharding", "--cpu-offload"], "--cpu-offload needs sharding"),
        (["--preset", "paper", "--template", "variant2", "--sequence-length", "100"], "no text after the 729 image tokens"),
    ],
)
def test_mistakes_are_named(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("train_plan", *arguments, stdout=io.StringIO())
