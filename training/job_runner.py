"""Running a training job: claim the row, train stage after stage, report as it goes.

Called by the Celery task (tasks.py) and nothing else. The claim is a conditional
update (queued, or running with a stale heartbeat), so a redelivered message never
runs a job twice. Everything a restart needs is on the row: the stage running
(`stage_index`), its latest checkpoint, each finished stage's model; a resumed stage
continues from its checkpoint exactly (training.loop), and loss points after that
checkpoint are deleted and written again, so none is missing or doubled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.utils import timezone

from jobs import lifecycle
from jobs.lifecycle import heartbeat

from . import job_data
from .data import ConversationDataset
from .jobs import claim
from .loop import Callbacks, Progress, run_stage
from .models import LossPoint, TrainingJob
from .nodes import node_heartbeat
from .presets import build_preset, load_model
from .recipes import Stage, stage_from_dict

log = logging.getLogger(__name__)
REPORT_EVERY_S = 1.0  # progress writes and cancel reads, at most this often
TRACEBACK_LINES = 25  # the tail the job page shows


def run_job(job_id: int) -> TrainingJob:
    claimed, job = claim(job_id)
    if not claimed:
        log.info("training job %s is %s; not running it", job_id, job.state)
        return job
    try:
        with heartbeat(lambda: _mine(job), name=f"training-job-{job_id}"):
            if job.gpus_per_node > 1:
                _run_distributed(job)
            else:
                _run_stages(job)
    except Exception as exc:  # the job page shows it; the worker lives on
        log.exception("training job %s failed", job_id)
        tail = "".join(traceback.format_exception(exc)).splitlines()[-TRACEBACK_LINES:]
        _finish(job, TrainingJob.State.FAILED, message=f"{type(exc).__name__}: {exc}\n\n" + "\n".join(tail))
    job.refresh_from_db()
    return job


def _mine(job: TrainingJob):
    """This attempt's row: if another worker took the job over, our writes match nothing."""
    return lifecycle.this_attempt(job)


def _finish(job: TrainingJob, state: str, **fields: Any) -> None:
    lifecycle.finish(job, state, **fields)


def _run_distributed(job: TrainingJob) -> None:
    """A job on N GPUs of one machine: `torchrun` starts N processes of training/distributed.py,
    which run the same stages; rank 0 writes progress, loss points and the models to the row.
    (Several machines: training/nodes.py.)"""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={job.gpus_per_node}",
        "-m", "training.distributed", str(job.pk), str(job.attempts),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    job.refresh_from_db()
    if done.returncode != 0 and job.state == TrainingJob.State.RUNNING:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-TRACEBACK_LINES:])
        raise RuntimeError(f"torchrun exited with status {done.returncode} ({job.gpus_per_node} processes):\n{tail}")


@contextlib.contextmanager
def _rank_zero_first(rank: int) -> Iterator[None]:
    """Rank 0 prepares shared files (records, corpus, tokenizer cache) before the others read them."""
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and rank != 0:
        torch.distributed.barrier()
    yield
    if distributed and rank == 0:
        torch.distributed.barrier()


def _run_stages(job: TrainingJob, *, rank: int = 0, device: str | None = None, node: int | None = None) -> None:
    """Train the job's stages from `stage_index` on. With several processes only rank 0
    (the default) touches the job's row; the others train their share of each batch, and
    the first process of each node of a multi-node job (`node`) writes that node's row."""
    threads = settings.TRAINING_THREADS or os.cpu_count() or 1
    torch.set_num_threads(threads)
    root = Path(settings.MODEL_ROOT) / job.output_dir
    stages = [stage_from_dict(d) for d in job.stages]
    for index in range(job.stage_index, len(stages)):
        if job.cancel_requested:
            if rank == 0:
                _finish(job, TrainingJob.State.CANCELLED)
            return
        stage, stage_dir = stages[index], root / f"stage-{index}"
        with _rank_zero_first(rank):
            records, image_root = _stage_data(job, stage, stage_dir / "records.json", write=rank == 0)
            dataset = ConversationDataset.from_json(records, image_root)
            model, processor = _starting_model(job, index, root, records)
        resume = Path(settings.MODEL_ROOT) / job.checkpoint if job.checkpoint else None
        kept = _checkpoint_step(resume) if resume else 0
        reporter = _Reporter(job, index, node=node)
        if rank == 0:
            LossPoint.objects.filter(job=job, stage_index=index, step__gt=kept).delete()
            _mine(job).update(step=kept, total_steps=0, heartbeat_at=timezone.now())
        result = run_stage(
            model, processor, stage, dataset, stage_dir, callbacks=reporter.callbacks(),
            log_every=job.log_every, checkpoint_every=job.checkpoint_every, resume_from=resume,
            num_threads=threads, device=device,
        )  # fmt: skip
        stopped, model_dir = result.stopped, result.model_dir
        if rank != 0:
            if stopped:
                return
            job.stage_models = [*job.stage_models[:index], _relative(stage_dir / "model")]
            job.stage_index, job.checkpoint = index + 1, ""
            continue
        if stopped:
            state = TrainingJob.State.CANCELLED if reporter.cancelled else TrainingJob.State.FAILED
            _finish(job, state, message="" if reporter.cancelled else "another worker took the job over")
            return
        assert model_dir is not None
        job.stage_models = [*job.stage_models[:index], _relative(model_dir)]
        job.stage_index, job.checkpoint = index + 1, ""
        _mine(job).update(stage_models=job.stage_models, stage_index=job.stage_index, checkpoint="")
    if rank == 0:
        _finish(job, TrainingJob.State.DONE, output_model=job.stage_models[-1])


def _relative(path: Path) -> str:
    return str(Path(path).relative_to(Path(settings.MODEL_ROOT)))


def _checkpoint_step(checkpoint: Path) -> int:
    return int(json.loads((checkpoint / "state.json").read_text())["step"])


def _stage_data(job: TrainingJob, stage: Stage, target: Path, *, write: bool = True) -> tuple[Path, Path]:
    sources = [job_data.from_stored(job.data[role]) for role in stage.data]
    if write:
        return job_data.stage_records(sources, target)
    return target, Path(sources[0].image_root)  # rank 0 wrote the file (and checked one image root)


def _starting_model(job: TrainingJob, index: int, root: Path, records: Path) -> tuple[Any, Any]:
    """Stage 0: the preset built fresh (fixed seed: a restart builds the same weights),
    the base job's model, or a local checkpoint. Later stages: the previous stage's model."""
    model_root = Path(settings.MODEL_ROOT)
    if index > 0:
        return load_model(model_root / job.stage_models[index - 1])
    if job.base_job_id:
        return load_model(model_root / job.base_job.output_model)
    if job.base_path:
        return load_model(model_root / job.base_path)
    if job.preset == "paper":
        return build_preset(
            "paper", language_model_dir=Path(settings.TRAINING_PAPER_LANGUAGE_MODEL_DIR),
            vision_tower_dir=Path(settings.TRAINING_PAPER_VISION_TOWER_DIR),
        )  # fmt: skip
    return build_preset("tiny", corpus=_tiny_corpus(job, root), seed=0, french=shutil.which("apertium") is not None)


def _tiny_corpus(job: TrainingJob, root: Path) -> Path:
    """The text the tiny tokenizer learns: the configured corpus, or every turn of the
    job's data (same data, same bytes, same cached tokenizer on a restart)."""
    if settings.TRAINING_TINY_CORPUS:
        return Path(settings.TRAINING_TINY_CORPUS)
    lines = []
    for role in sorted(job.data):
        for record in job_data.load_records(job_data.from_stored(job.data[role])):
            lines += [turn["value"].replace("<image>", "").strip() for turn in record.get("conversations", [])]
    corpus = root / "corpus.txt"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return corpus


class _Reporter:
    """The loop's callbacks for one stage: loss points, progress, checkpoints, cancel."""

    def __init__(self, job: TrainingJob, stage_index: int, *, node: int | None = None) -> None:
        self.job, self.stage_index, self.node = job, stage_index, node
        self.cancelled = False
        self._last_progress = self._last_check = self._last_node = 0.0

    def callbacks(self) -> Callbacks:
        on_node_step = self.on_node_step if self.node is not None else None
        return Callbacks(self.on_log, self.on_progress, self.on_checkpoint, self.should_stop, on_node_step)

    def on_node_step(self, step: int) -> None:
        now = time.monotonic()
        if now - self._last_node >= REPORT_EVERY_S:
            self._last_node = now
            node_heartbeat(self.job.pk, self.job.attempts, self.node, step=step)

    def on_log(self, step: int, loss: float, lr: float) -> None:
        LossPoint.objects.create(job=self.job, stage_index=self.stage_index, step=step, loss=loss, lr=lr)

    def on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last_progress < REPORT_EVERY_S and progress.step < progress.total_steps:
            return
        self._last_progress = now
        _mine(self.job).update(
            step=progress.step, total_steps=progress.total_steps, samples_per_s=progress.samples_per_s,
            heartbeat_at=timezone.now(),
        )  # fmt: skip

    def on_checkpoint(self, path: Path) -> None:
        _mine(self.job).update(checkpoint=_relative(path), heartbeat_at=timezone.now())

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_check < REPORT_EVERY_S:
            return False
        self._last_check = now
        row = TrainingJob.objects.filter(pk=self.job.pk).values("cancel_requested", "attempts", "state").first()
        if row is None or row["attempts"] != self.job.attempts or row["state"] != TrainingJob.State.RUNNING:
            return True  # deleted, or claimed by another worker after we looked dead
        self.cancelled = row["cancel_requested"]
        return self.cancelled
