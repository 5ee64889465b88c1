"""Checkpoints of a training stage through torch.distributed.checkpoint (DCP).

Every rank writes its own shards of the trainable weights (LoRA adapters included) and
of the AdamW states; rank 0 adds the scheduler, the data position (`state.json`) and
the RNG states. Frozen weights are not written: they come from the stage's starting
model. DCP reshards on load, so a job resumes on the same or another number of ranks.

Layout of `checkpoints/step-000120/`:
    *.distcp, .metadata   model and optimizer shards (DCP)
    scheduler.pt          the learning-rate schedule
    rng-<rank>.pt         each rank's RNG states (a rank with none takes rank 0's)
    state.json            stage, seed, step, total steps, ranks
A checkpoint is written to `step-….partial` and renamed once every rank has finished,
so a crash mid-write leaves no half checkpoint under the final name. With several
nodes, the output directory must be on storage every node sees (docs/operations.md).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import DefaultLoadPlanner
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

from training.parallelize import world
from training.recipes import Stage

_TRAINABLE = StateDictOptions(ignore_frozen_params=True)


def _barrier() -> None:
    if world()[1] > 1:
        torch.distributed.barrier()


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state(torch.cuda.current_device())
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"], torch.cuda.current_device())


def save_checkpoint(directory: Path, module: torch.nn.Module, optimizer: Any, scheduler: Any,
                    state: dict[str, Any]) -> Path:  # fmt: skip
    """Every rank calls this; everything an exact resume needs."""
    rank, size = world()
    scratch = directory.with_name(directory.name + ".partial")
    if rank == 0:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
    _barrier()
    model_state, optimizer_state = get_state_dict(module, optimizer, options=_TRAINABLE)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=str(scratch))
    torch.save(_rng_state(), scratch / f"rng-{rank}.pt")
    if rank == 0:
        torch.save(scheduler.state_dict(), scratch / "scheduler.pt")
        (scratch / "state.json").write_text(json.dumps({**state, "ranks": size}, indent=2))
    _barrier()
    if rank == 0:
        shutil.rmtree(directory, ignore_errors=True)
        scratch.rename(directory)
    _barrier()
    return directory


def load_checkpoint(directory: Path, module: torch.nn.Module, optimizer: Any, scheduler: Any, stage: Stage) -> int:
    """Restore a checkpoint of the same stage on any number of ranks; returns the step to continue from."""
    directory = Path(directory)
    if not (directory / "state.json").exists():
        raise FileNotFoundError(f"{directory}: not a training checkpoint (no state.json)")
    state = json.loads((directory / "state.json").read_text())
    if (state["stage"], state["seed"]) != (stage.name, stage.seed):
        raise ValueError(
            f"{directory}: checkpoint of stage {state['stage']!r} (seed {state['seed']}), "
            f"cannot resume stage {stage.name!r} (seed {stage.seed})"
        )
    if not (directory / ".metadata").exists():
        raise ValueError(f"{directory}: written by an older Relecture (no DCP metadata); start the stage again")
    model_state, optimizer_state = get_state_dict(module, optimizer, options=_TRAINABLE)
    saved = set(dcp.FileSystemReader(str(directory)).read_metadata().state_dict_metadata)
    wanted = {f"model.{name}" for name in model_state}
    if not wanted <= saved or any(k.startswith("model.") and k not in wanted for k in saved):
        raise ValueError(f"{directory}: trainable parameters differ from this stage's (recipe changed?)")
    loaded = {"model": model_state, "optimizer": optimizer_state}
    # Partial: a parameter that never had a gradient (e.g. a norm after the vision layer LLaVA
    # reads) has no AdamW state in the checkpoint; the model's keys were checked above.
    dcp.load(loaded, checkpoint_id=str(directory), planner=DefaultLoadPlanner(allow_partial_load=True))
    # Not strict: the frozen weights are not in a checkpoint (they come from the starting model).
    set_state_dict(module, optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optimizer"],
                   options=StateDictOptions(ignore_frozen_params=True, strict=False))  # fmt: skip
    scheduler.load_state_dict(torch.load(directory / "scheduler.pt", weights_only=True))
    rank, _ = world()
    rng = directory / f"rng-{rank}.pt"
    _set_rng_state(torch.load(rng if rng.exists() else directory / "rng-0.pt", weights_only=False))
    return int(state["step"])


def prune(checkpoints: Path, keep: int) -> None:
    if world()[0] == 0:
        for old in sorted(checkpoints.glob("step-*[0-9]"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
