"""The training loop: one stage of a recipe on one dataset, resumable and cancellable.

Deliberately a plain loop (nanoGPT style) rather than transformers' Trainer: the job
runner needs exact resume, a cancel check every step and loss points as they come,
and all of that reads best in one screen. The data order is a pure function of
(seed, epoch), so a resumed run picks up at its step without replaying batches.

With several processes (torchrun) the model is sharded with FSDP2
(training/parallelize.py) and checkpoints are sharded through torch.distributed.checkpoint
(training/checkpoint.py); the loop itself stays the same. The loop never waits on the
device inside a step: losses stay on the device and are read every `log_every` steps.

Output layout under `output_dir`:
    checkpoints/step-000120/  trainable weights (LoRA adapters included), optimizer,
                              scheduler, RNG states, state.json (training/checkpoint.py)
    model/                    the stage's model, LoRA merged, loadable by presets.load_model
    adapter/                  the LoRA adapter alone, when the stage asks for it
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import get_cosine_schedule_with_warmup

from training.checkpoint import load_checkpoint, prune, save_checkpoint
from training.data import ConversationCollator, ConversationDataset
from training.parallelize import AnswerLoss, answer_loss, llava_core, shard, world
from training.presets import save_model
from training.recipes import Stage, check_data, parameter_groups, prepare_model

__all__ = ["BatchOrder", "Callbacks", "Progress", "StageResult", "answer_loss", "run_stage", "total_steps"]


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    samples_per_s: float
    loss: float


@dataclass
class Callbacks:
    on_log: Callable[[int, float, float], None] | None = None  # (step, mean loss, lr)
    on_progress: Callable[[Progress], None] | None = None  # every step (loss: the last logged mean)
    on_checkpoint: Callable[[Path], None] | None = None
    should_stop: Callable[[], bool] | None = None  # checked before every step (cancel)
    on_node_step: Callable[[int], None] | None = None  # every step, on every rank that has one (per-node progress)


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


def _autocast(stage: Stage, device: torch.device, sharded: bool) -> contextlib.AbstractContextManager[Any]:
    if stage.bf16 and device.type == "cuda" and not sharded:  # sharded: FSDP's MixedPrecisionPolicy casts
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()  # bf16 autocast gave no speed-up on CPU (measured)


def _micro_batches(stage: Stage, order: BatchOrder, step: int) -> Iterator[tuple[list[int], bool]]:
    """This rank's records of each micro-batch of a step, and whether they count.

    `batch_size` is the global micro-batch, so the schedule and the data order do not
    depend on the number of ranks: each rank takes every world-th record. A rank left
    without one (a short last batch) still runs a forward and backward, on a record that
    counts for nothing, because FSDP's collectives need every rank.
    """
    rank, size = world()
    for micro in range(stage.gradient_accumulation):
        batch = order(step * stage.gradient_accumulation + micro)
        mine = batch[rank::size]
        yield (mine, True) if mine else (batch[:1], False)


def _global_sum(value: torch.Tensor) -> torch.Tensor:
    if world()[1] > 1:
        torch.distributed.all_reduce(value)
    return value


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
    benchmarks: a 1B model's optimizer state alone is 8 GB). Every process of a job
    builds the same starting model (fixed seeds), so no weights are broadcast.
    """
    rank, size = world()
    # Only rank 0 reports and writes; the others train their share and follow its decisions.
    callbacks = callbacks or Callbacks()
    if rank != 0:
        callbacks = Callbacks(on_node_step=callbacks.on_node_step)
    check_data(stage, len(dataset))
    if num_threads:
        torch.set_num_threads(num_threads)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    output_dir, checkpoints = Path(output_dir), Path(output_dir) / "checkpoints"
    torch.manual_seed(stage.seed)
    model, _ = prepare_model(model, stage)
    model.to(device).train()
    if stage.gradient_checkpointing:  # per layer, the non-reentrant kind FSDP2 works with
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()  # frozen embeddings would cut the gradient path
    module = AnswerLoss(model)
    sharded = size > 1
    if sharded:
        module = shard(module, bf16=stage.bf16, device=device)
    optimizer = torch.optim.AdamW(parameter_groups(module, stage, prefix="model."), weight_decay=stage.weight_decay)
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    total = total_steps(stage, len(dataset))
    scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(stage.warmup_ratio * total), total)
    step = load_checkpoint(resume_from, module, optimizer, scheduler, stage) if resume_from else 0
    collate = ConversationCollator(processor, dataset.image_root, max_length=max_length)
    lengths = [record_length(dataset[i]) for i in range(len(dataset))]
    order = BatchOrder(lengths, stage.batch_size, stage.seed, stage.group_by_length)

    def checkpoint() -> Path:
        state = {"stage": stage.name, "seed": stage.seed, "step": step, "total_steps": total}
        path = save_checkpoint(checkpoints / f"step-{step:06d}", module, optimizer, scheduler, state)
        prune(checkpoints, keep_checkpoints)
        if callbacks.on_checkpoint:
            callbacks.on_checkpoint(path)
        return path

    def stop_requested() -> bool:
        """Rank 0 decides (cancel); with several ranks they agree every `log_every` steps."""
        if not sharded:
            return bool(callbacks.should_stop and callbacks.should_stop())
        if step % log_every:
            return False
        flag = torch.tensor([float(bool(callbacks.should_stop and callbacks.should_stop()))], device=device)
        torch.distributed.broadcast(flag, src=0)
        return bool(flag.item())

    started, samples, last, logged = time.perf_counter(), 0, None, math.nan
    window, window_steps = torch.zeros((), device=device), 0
    stopped = False
    while step < total:
        if stop_requested():
            stopped = True
            break
        for indices, counts in _micro_batches(stage, order, step):
            batch = {k: v.to(device, non_blocking=True) for k, v in collate([dataset[i] for i in indices]).items()}
            with _autocast(stage, device, sharded):
                loss_sum, learned = module(**batch)
            if not counts:
                loss_sum, learned = loss_sum * 0.0, learned * 0
            # The mean over the global micro-batch's learned tokens, as one process computes it:
            # FSDP averages gradients over ranks, hence the factor `size`.
            share = loss_sum / (_global_sum(learned.detach().float()).clamp(min=1) * stage.gradient_accumulation)
            (share * size).backward()
            window += share.detach()
            samples += len(indices) * size if counts else 0  # rank 0's share, times the ranks
        torch.nn.utils.clip_grad_norm_(trained, stage.max_grad_norm)  # over the sharded gradients
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step, window_steps = step + 1, window_steps + 1
        if step % log_every == 0 or step == total:
            logged = float(_global_sum(window.clone()).item()) / window_steps  # the loop's one wait on the device
            window.zero_()
            window_steps = 0
            if callbacks.on_log:
                callbacks.on_log(step, logged, max(scheduler.get_last_lr()))
        if callbacks.on_progress:
            callbacks.on_progress(Progress(step, total, samples / (time.perf_counter() - started), logged))
        if callbacks.on_node_step:
            callbacks.on_node_step(step)
        if checkpoint_every and step % checkpoint_every == 0 and step < total:
            last = checkpoint()
    rate = samples / max(time.perf_counter() - started, 1e-9)
    if (stopped or checkpoint_at_end) and step > 0 and (last is None or not last.name.endswith(f"{step:06d}")):
        last = checkpoint()
    if stopped:
        return StageResult(model, step, total, True, rate, last, None)
    model, model_dir = _finish(module, processor, stage, output_dir, sharded=sharded)
    return StageResult(model, step, total, False, rate, last, model_dir)


def _finish(module: AnswerLoss, processor: Any, stage: Stage, output_dir: Path, *, sharded: bool) -> tuple[Any, Path]:
    """Merge LoRA adapters (saving them alone first if asked) and save the stage's model.

    Sharded, every rank gathers the full weights to rank 0, which loads them into an
    unsharded copy of the model and saves it; the other ranks return nothing."""
    model = module.model
    if sharded:
        model = _gather_on_rank_zero(module, stage)
        torch.distributed.barrier()
        if model is None:
            return None, output_dir / "model"
    if hasattr(model, "merge_and_unload"):
        if stage.save_adapter:
            model.save_pretrained(output_dir / "adapter")
        model = model.merge_and_unload()
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    model.eval()
    return model, save_model(model, processor, output_dir / "model")


def _gather_on_rank_zero(module: AnswerLoss, stage: Stage) -> Any | None:
    """The trained model, unsharded, on rank 0's CPU (None on the other ranks).

    The copy is built from the model's config on the meta device (no second set of
    weights is ever initialised), given the stage's LoRA layers, then filled from the
    gathered state dict; buffers (not sharded by FSDP, some not in the state dict) are
    copied from the trained module."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if world()[0] != 0:
        return None
    core = llava_core(module.model)
    with torch.device("meta"):
        copy = type(core)(core.config)
    copy, _ = prepare_model(copy, stage)
    copy.to_empty(device="cpu")
    copy.load_state_dict({name.removeprefix("model."): value for name, value in full.items()}, strict=True)
    trained_buffers = dict(module.model.named_buffers())
    for name, buffer in copy.named_buffers():
        buffer.copy_(trained_buffers[name].to("cpu"))
    copy.generation_config = core.generation_config
    return copy
