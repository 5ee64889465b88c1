"""The training loop: one stage of a recipe on one dataset, resumable and cancellable.

Deliberately a plain loop (nanoGPT style) rather than transformers' Trainer: the job
runner needs exact resume, a cancel check every step and loss points as they come,
and all of that reads best in one screen. The data order is a pure function of
(seed, epoch), so a resumed run picks up at its step without replaying batches.

Output layout under `output_dir`:
    checkpoints/step-000120/  trainable weights (LoRA adapters included), optimizer,
                              scheduler, RNG states, state.json
    model/                    the stage's model, LoRA merged, loadable by presets.load_model
    adapter/                  the LoRA adapter alone, when the stage asks for it
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import get_cosine_schedule_with_warmup

from training.data import IGNORE_INDEX, ConversationCollator, ConversationDataset
from training.presets import save_model
from training.recipes import Stage, check_data, prepare_model


def _world() -> tuple[int, int]:
    """(rank, world size): (0, 1) unless torchrun started us (training/distributed.py)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    samples_per_s: float
    loss: float


@dataclass
class Callbacks:
    on_log: Callable[[int, float, float], None] | None = None  # (step, mean loss, lr)
    on_progress: Callable[[Progress], None] | None = None  # every step
    on_checkpoint: Callable[[Path], None] | None = None
    should_stop: Callable[[], bool] | None = None  # checked before every step (cancel)


@dataclass
class StageResult:
    model: Any  # merged LlavaForConditionalGeneration (PEFT wrapper if stopped early)
    steps: int
    total_steps: int
    stopped: bool
    samples_per_s: float
    last_checkpoint: Path | None
    model_dir: Path | None  # None when stopped before the end


def total_steps(stage: Stage, n_records: int) -> int:
    if stage.max_steps is not None:
        return stage.max_steps
    per_step = stage.batch_size * stage.gradient_accumulation
    return max(1, math.ceil(stage.epochs * n_records / per_step))


class BatchOrder:
    """Which records make the index-th micro-batch: a pure function of (seed, epoch, index).

    Each epoch is a fresh seeded permutation. With `group_by_length` (LLaVA's
    group_by_modality_length, simplified), records are sorted by length inside
    megabatches of 16 batches and the batches shuffled again, so a batch rarely pads a
    two-word answer to the length of a six-turn dialogue (1.5x faster on the world).
    """

    MEGABATCH = 16

    def __init__(self, lengths: list[int], batch_size: int, seed: int, group_by_length: bool = True) -> None:
        self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
        self.group_by_length = group_by_length
        self.per_epoch = math.ceil(len(lengths) / batch_size)
        self._epoch: tuple[int, list[list[int]]] | None = None

    def batches(self, epoch: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        if not self.group_by_length:
            return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        size = self.batch_size * self.MEGABATCH
        batches = []
        for start in range(0, len(order), size):
            mega = sorted(order[start : start + size], key=lambda i: self.lengths[i])
            chunk = [mega[i : i + self.batch_size] for i in range(0, len(mega), self.batch_size)]
            batches += [chunk[j] for j in torch.randperm(len(chunk), generator=generator).tolist()]
        return batches

    def __call__(self, index: int) -> list[int]:
        epoch, position = divmod(index, self.per_epoch)
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (epoch, self.batches(epoch))
        return self._epoch[1][position]


def record_length(record: dict[str, Any]) -> int:
    """A cheap proxy for token count: characters of all turns."""
    return sum(len(turn["value"]) for turn in record["conversations"])


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: Path, model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any]) -> Path:
    """Everything an exact resume needs; frozen weights come from the stage's starting model."""
    scratch = directory.with_name(directory.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    trainable = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(trainable, str(scratch / "trainable.safetensors"))
    torch.save(optimizer.state_dict(), scratch / "optimizer.pt")
    torch.save(scheduler.state_dict(), scratch / "scheduler.pt")
    torch.save(_rng_state(), scratch / "rng.pt")
    (scratch / "state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(directory, ignore_errors=True)
    scratch.rename(directory)  # a crash mid-write leaves only a .partial directory
    return directory


def load_checkpoint(directory: Path, model: Any, optimizer: Any, scheduler: Any, stage: Stage) -> int:
    """Restore a checkpoint of the same stage; returns the step to continue from."""
    directory = Path(directory)
    if not (directory / "state.json").exists():
        raise FileNotFoundError(f"{directory}: not a training checkpoint (no state.json)")
    state = json.loads((directory / "state.json").read_text())
    if (state["stage"], state["seed"]) != (stage.name, stage.seed):
        raise ValueError(
            f"{directory}: checkpoint of stage {state['stage']!r} (seed {state['seed']}), "
            f"cannot resume stage {stage.name!r} (seed {stage.seed})"
        )
    tensors = load_file(str(directory / "trainable.safetensors"))
    parameters = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if set(tensors) != set(parameters):
        raise ValueError(f"{directory}: trainable parameters differ from this stage's (recipe changed?)")
    with torch.no_grad():
        for name, parameter in parameters.items():
            parameter.copy_(tensors[name])
    optimizer.load_state_dict(torch.load(directory / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(directory / "scheduler.pt", weights_only=True))
    _set_rng_state(torch.load(directory / "rng.pt", weights_only=True))
    return int(state["step"])


def _prune(checkpoints: Path, keep: int) -> None:
    for old in sorted(checkpoints.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _autocast(stage: Stage, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if stage.bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()  # bf16 autocast gave no speed-up on CPU (measured)


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's loss (mean cross-entropy over the learned tokens), projecting to the
    vocabulary only where a token is learned.

    LLaVA learns the answers alone, yet `model(**batch).loss` computes logits for every
    position: image, prompt and padding are ~95% of a tiny-world sequence, and the
    vocabulary projection plus its softmax were a third of a step on CPU (and a 128k-vocabulary
    model's largest activation on GPU). Same value as the model's own loss (tested).
    """
    core = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA layers stay in place
    hidden = core.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=batch["pixel_values"]
    )[0]
    targets = batch["labels"][:, 1:]
    learned = targets != IGNORE_INDEX
    logits = core.lm_head(hidden[:, :-1][learned])
    return torch.nn.functional.cross_entropy(logits.float(), targets[learned])


def _batches(
    stage: Stage, dataset: ConversationDataset, order: BatchOrder, collate: ConversationCollator, step: int
) -> Iterator[dict[str, torch.Tensor]]:
    """The step's micro-batches; with several processes each takes its share of every batch
    (`batch_size` is the global micro-batch, so the schedule and data order do not change)."""
    rank, world = _world()
    for micro in range(stage.gradient_accumulation):
        indices = order(step * stage.gradient_accumulation + micro)[rank::world]
        if indices:
            yield collate([dataset[i] for i in indices])


def _all_reduce_mean(tensors: list[torch.Tensor]) -> None:
    """Average gradients (or any tensors) over the processes of a multi-GPU job."""
    _, world = _world()
    if world == 1:
        return
    for tensor in tensors:
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        tensor /= world


def _any_rank(flag: bool, device: torch.device) -> bool:
    """Rank 0 decides (cancel); every process learns it, so all stop at the same step."""
    _, world = _world()
    if world == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.broadcast(value, src=0)
    return bool(value.item())


def run_stage(
    model: Any,
    processor: Any,
    stage: Stage,
    dataset: ConversationDataset,
    output_dir: Path,
    *,
    callbacks: Callbacks | None = None,
    log_every: int = 10,
    checkpoint_every: int | None = None,
    keep_checkpoints: int = 2,
    resume_from: Path | None = None,
    num_threads: int | None = None,
    device: str | torch.device | None = None,
    max_length: int | None = None,
    checkpoint_at_end: bool = True,
) -> StageResult:
    """Train `model` for one stage; resuming needs the same starting model and stage.

    A checkpoint is written every `checkpoint_every` steps, on cancel and at the end
    (`checkpoint_at_end=False` skips the last one where nothing will resume, as in
    benchmarks: a 1B model's optimizer state alone is 8 GB).
    """
    rank, world = _world()
    # Only rank 0 reports and writes; the others train their share and follow its decisions.
    callbacks = (callbacks or Callbacks()) if rank == 0 else Callbacks()
    check_data(stage, len(dataset))
    if num_threads:
        torch.set_num_threads(num_threads)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    output_dir, checkpoints = Path(output_dir), Path(output_dir) / "checkpoints"
    torch.manual_seed(stage.seed)
    model, groups = prepare_model(model, stage)
    model.to(device).train()
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()  # frozen embeddings would cut the gradient path
    optimizer = torch.optim.AdamW(groups, weight_decay=stage.weight_decay)
    total = total_steps(stage, len(dataset))
    scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(stage.warmup_ratio * total), total)
    step = load_checkpoint(resume_from, model, optimizer, scheduler, stage) if resume_from else 0
    if world > 1:  # every process starts from rank 0's weights
        for parameter in model.parameters():
            torch.distributed.broadcast(parameter.data, src=0)
    collate = ConversationCollator(processor, dataset.image_root, max_length=max_length)
    lengths = [record_length(dataset[i]) for i in range(len(dataset))]
    order = BatchOrder(lengths, stage.batch_size, stage.seed, stage.group_by_length)
    trained = [p for group in groups for p in group["params"]]

    def checkpoint() -> Path:
        state = {"stage": stage.name, "seed": stage.seed, "step": step, "total_steps": total}
        path = checkpoints / f"step-{step:06d}"
        if rank == 0:
            save_checkpoint(path, model, optimizer, scheduler, state)
            _prune(checkpoints, keep_checkpoints)
            if callbacks.on_checkpoint:
                callbacks.on_checkpoint(path)
        if world > 1:
            torch.distributed.barrier()
        return path

    started, samples, window, last = time.perf_counter(), 0, [], None
    stopped = False
    while step < total:
        if _any_rank(bool(callbacks.should_stop and callbacks.should_stop()), device):
            stopped = True
            break
        loss_sum = 0.0
        for batch in _batches(stage, dataset, order, collate, step):
            batch = {k: v.to(device) for k, v in batch.items()}
            with _autocast(stage, device):
                loss = answer_loss(model, batch) / stage.gradient_accumulation
            loss.backward()
            loss_sum += loss.item()
            samples += len(batch["input_ids"]) * world
        if world > 1:
            _all_reduce_mean([p.grad for p in trained if p.grad is not None])
            mean = torch.tensor([loss_sum], device=device)
            _all_reduce_mean([mean])
            loss_sum = mean.item()
        torch.nn.utils.clip_grad_norm_(trained, stage.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        window.append(loss_sum)
        rate = samples / (time.perf_counter() - started)
        if callbacks.on_progress:
            callbacks.on_progress(Progress(step, total, rate, loss_sum))
        if callbacks.on_log and (step % log_every == 0 or step == total):
            callbacks.on_log(step, sum(window) / len(window), max(scheduler.get_last_lr()))
            window = []
        if checkpoint_every and step % checkpoint_every == 0 and step < total:
            last = checkpoint()
    rate = samples / max(time.perf_counter() - started, 1e-9)
    if (stopped or checkpoint_at_end) and step > 0 and (last is None or not last.name.endswith(f"{step:06d}")):
        last = checkpoint()
    if stopped:
        return StageResult(model, step, total, True, rate, last, None)
    if rank != 0:  # rank 0 merges and saves the model; the others are done
        torch.distributed.barrier()
        return StageResult(model, step, total, False, rate, last, output_dir / "model")
    model, model_dir = _finish(model, processor, stage, output_dir)
    if world > 1:
        torch.distributed.barrier()
    return StageResult(model, step, total, False, rate, last, model_dir)


def _finish(model: Any, processor: Any, stage: Stage, output_dir: Path) -> tuple[Any, Path]:
    """Merge LoRA adapters (saving them alone first if asked) and save the stage's model."""
    if hasattr(model, "merge_and_unload"):
        if stage.save_adapter:
            model.save_pretrained(output_dir / "adapter")
        model = model.merge_and_unload()
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    model.eval()
    return model, save_model(model, processor, output_dir / "model")
