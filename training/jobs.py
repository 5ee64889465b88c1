"""Training jobs: create (validated before anything is queued), cancel, requeue, recover.

The one place that writes TrainingJob rows outside the runner (job_runner.py, which
claims, trains and reports). A bad input raises `JobValidationError(field, message)`
and leaves the database as it was: pages show the message next to the field, the API
returns it as a 400 naming the field.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from api.errors import FieldError
from catalog.models import Dataset
from exports.models import Snapshot
from jobs import lifecycle
from jobs.lifecycle import requeue_stalled

from . import job_data
from .models import TrainingJob
from .recipes import (
    DATA_ROLES,
    PARTS,
    PRESETS,
    TEMPLATES,
    Lora,
    Part,
    RecipeError,
    Stage,
    stage_from_dict,
    stage_to_dict,
    template,
)

__all__ = ["JobValidationError", "cancel", "claim", "create_training_job", "recover_stalled_jobs", "requeue"]


def claim(job_id: int, **fields: Any) -> tuple[bool, TrainingJob]:
    """Take a job for a new attempt (jobs/lifecycle.py); `fields` are written with the claim.
    Returns (claimed, the row as it is now)."""
    return lifecycle.claim(TrainingJob.objects.all(), job_id, **fields)

# Stage settings a user may override (name and data belong to the template).
OVERRIDABLE = tuple(f.name for f in dataclasses.fields(Stage) if f.name not in ("name", "data"))


MAX_GPUS_PER_NODE = 8  # processes one machine's torchrun starts (training/distributed.py)
MAX_NODES = 64  # machines of one job, each a Celery gpu worker (training/nodes.py)


class JobValidationError(FieldError, ValueError):
    """One problem with a job's inputs: which field, and what is wrong with it (field first,
    as every caller writes it; `str()` says both)."""

    field: str

    def __init__(self, field: str, message: str, status: int | None = None) -> None:
        super().__init__(message, field, status)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def model_path(relative: str | Path) -> Path:
    """A path stored on a job, on disk (absolute paths stay as they are)."""
    return Path(settings.MODEL_ROOT) / relative


def build_stages(template_name: str, preset: str, overrides: dict[str, Any]) -> list[Stage]:
    """The template's stages with the user's settings applied to every stage.

    A part given as a dict changes only the keys it names ({"lr": 0} freezes that part
    at the template's mode), so one override reads the same across stages.
    `overrides["stages"]` ({stage name: settings}) changes one stage only, after the
    settings for every stage: e.g. more steps for pretraining than for finetuning.
    """
    if preset not in PRESETS:
        raise JobValidationError("preset", f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if template_name not in TEMPLATES:
        raise JobValidationError("template", f"unknown template {template_name!r}; expected one of {', '.join(TEMPLATES)}")
    if not isinstance(overrides, dict):
        raise JobValidationError("overrides", f"expected an object of stage settings, got {type(overrides).__name__}")
    overrides = dict(overrides)
    per_stage = overrides.pop("stages", {})
    for key, value in overrides.items():
        if key not in OVERRIDABLE:
            raise JobValidationError(f"overrides.{key}", f"unknown setting {key!r}; known settings: {', '.join(OVERRIDABLE)}")
        if key in PARTS + ("lora",) and not isinstance(value, dict):
            raise JobValidationError(f"overrides.{key}", f"expected an object like {{'mode': 'full', 'lr': 0.001}}, got {value!r}")
    scalars = {k: v for k, v in overrides.items() if k not in PARTS + ("lora",)}
    try:
        stages = [_with_parts(stage, overrides) for stage in template(template_name, preset, **scalars)]
    except (RecipeError, TypeError) as error:
        raise JobValidationError(_field_of(str(error), overrides), str(error)) from None
    return _per_stage(stages, per_stage)


def _per_stage(stages: list[Stage], per_stage: Any) -> list[Stage]:
    names = [stage.name for stage in stages]
    if not isinstance(per_stage, dict):
        raise JobValidationError("overrides.stages", f"expected {{stage name: settings}}, got {per_stage!r}")
    for name, settings in per_stage.items():
        field = f"overrides.stages.{name}"
        if name not in names:
            raise JobValidationError(field, f"no stage {name!r} in this template; its stages: {', '.join(names)}")
        if not isinstance(settings, dict) or "stages" in settings:
            raise JobValidationError(field, f"expected an object of stage settings, got {settings!r}")
        for key in settings:
            if key not in OVERRIDABLE:
                raise JobValidationError(f"{field}.{key}", f"unknown setting {key!r}; known settings: {', '.join(OVERRIDABLE)}")
        scalars = {k: v for k, v in settings.items() if k not in PARTS + ("lora",)}
        index = names.index(name)
        try:
            stages[index] = _with_parts(dataclasses.replace(stages[index], **scalars), settings)
        except (RecipeError, TypeError) as error:
            raise JobValidationError(_field_of(str(error), settings).replace("overrides", field), str(error)) from None
    return stages


def _with_parts(stage: Stage, overrides: dict[str, Any]) -> Stage:
    changes: dict[str, Any] = {}
    for name in PARTS:
        if name in overrides:
            changes[name] = Part(**{**dataclasses.asdict(getattr(stage, name)), **overrides[name]})
    if "lora" in overrides:
        changes["lora"] = Lora(**{**dataclasses.asdict(stage.lora or Lora()), **overrides["lora"]})
    elif changes.get("language_model", stage.language_model).mode == "lora" and stage.lora is None:
        changes["lora"] = Lora()
    elif changes.get("language_model", stage.language_model).mode != "lora":
        changes["lora"] = None
    return dataclasses.replace(stage, **changes)  # validate() runs again


def _field_of(message: str, overrides: dict[str, Any]) -> str:
    """The overridden setting a recipe error is about, when the message names one."""
    for key in overrides:
        if key in message:
            return f"overrides.{key}"
    return "overrides"


def _check_data(stages: list[Stage], data: dict[str, Any], template_name: str) -> dict[str, job_data.Source]:
    needed = list(dict.fromkeys(role for stage in stages for role in stage.data))
    for role in data:
        if role not in DATA_ROLES:
            raise JobValidationError(f"data.{role}", f"unknown data role {role!r}; expected one of {', '.join(DATA_ROLES)}")
        if role not in needed:
            raise JobValidationError(f"data.{role}", f"template {template_name!r} does not use {role!r}; it uses {', '.join(needed)}")
    sources = {}
    for role in needed:
        if data.get(role) is None:
            users = ", ".join(repr(s.name) for s in stages if role in s.data)
            raise JobValidationError(f"data.{role}", f"no data given for {role!r}, which stage(s) {users} train on")
        try:
            source = job_data.resolve(data[role])
            job_data.check_images(source, job_data.load_records(source))
        except job_data.DataError as error:
            raise JobValidationError(f"data.{role}", str(error)) from None
        sources[role] = source
    return sources


def _check_start(preset: str, base_job: TrainingJob | None, base_path: str) -> None:
    if base_job is not None and base_path:
        raise JobValidationError("base_path", "give a base job or a base path, not both")
    if base_job is not None:
        if base_job.state != TrainingJob.State.DONE or not base_job.output_model:
            raise JobValidationError("base_job", f"job {base_job.pk} is {base_job.state}; only a finished job's model can be a base")
        return
    if base_path:
        config = model_path(base_path) / "config.json"
        try:
            model_type = json.loads(config.read_text()).get("model_type")
        except (OSError, ValueError):
            raise JobValidationError("base_path", f"{model_path(base_path)} is not a model directory (no readable config.json)") from None
        if model_type != "llava":
            raise JobValidationError("base_path", f"{config} describes a {model_type!r} model; expected a Llava checkpoint")
        return
    if preset == "paper":
        for name in ("TRAINING_PAPER_LANGUAGE_MODEL_DIR", "TRAINING_PAPER_VISION_TOWER_DIR"):
            directory = getattr(settings, name)
            if not directory or not (Path(directory) / "config.json").exists():
                raise JobValidationError("preset", f"the paper preset needs {name} set to a local model directory (now {directory!r})")


def _check_numbers(nodes: int, gpus_per_node: int, log_every: int, checkpoint_every: int) -> None:
    numbers = (("nodes", nodes), ("gpus_per_node", gpus_per_node), ("log_every", log_every),
               ("checkpoint_every", checkpoint_every))  # fmt: skip
    for field, value in numbers:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise JobValidationError(field, f"must be a whole number of at least 1, got {value!r}")
    if gpus_per_node > MAX_GPUS_PER_NODE:
        raise JobValidationError("gpus_per_node", f"at most {MAX_GPUS_PER_NODE} GPUs per machine, got {gpus_per_node}")
    if nodes > MAX_NODES:
        raise JobValidationError("nodes", f"at most {MAX_NODES} machines per job, got {nodes}")


def _check_memory(preset: str, stages: list[Stage], nodes: int, gpus_per_node: int) -> None:
    """Refuse, before anything is queued, a job whose stages cannot fit on its GPUs
    (TRAINING_GPU_MEMORY_GIB each; training/memory_plan.py), naming what would fit."""
    from .memory_plan import MemoryPlanError, check_fits
    from .presets import paper_config, tiny_config

    config = paper_config() if preset == "paper" else tiny_config(1024, 4, 0)
    try:
        check_fits(config, stages, nodes=nodes, gpus_per_node=gpus_per_node,
                   gpu_memory_gib=settings.TRAINING_GPU_MEMORY_GIB, sequence_length=settings.TRAINING_SEQUENCE_LENGTH)
    except MemoryPlanError as error:
        raise JobValidationError("gpus_per_node" if nodes == 1 else "nodes", str(error)) from None


def create_training_job(
    *,
    template: str,
    preset: str = "tiny",
    data: dict[str, Snapshot | Dataset | None],
    base_job: TrainingJob | None = None,
    base_path: str = "",
    overrides: dict[str, Any] | None = None,
    name: str = "",
    nodes: int = 1,
    gpus_per_node: int = 1,
    log_every: int = 10,
    checkpoint_every: int = 100,
    created_by: Any = None,
    enqueue: bool = True,
) -> TrainingJob:
    """Validate every input, store the job, and queue it once the row is committed."""
    overrides = dict(overrides or {})
    stages = build_stages(template, preset, overrides)
    _check_numbers(nodes, gpus_per_node, log_every, checkpoint_every)
    _check_start(preset, base_job, base_path)
    sources = _check_data(stages, data, template)
    _check_memory(preset, stages, nodes, gpus_per_node)
    with transaction.atomic():
        job = TrainingJob.objects.create(
            name=name, template=template, preset=preset, base_job=base_job, base_path=base_path,
            stages=[stage_to_dict(stage) for stage in stages], overrides=overrides,
            data={role: source.stored for role, source in sources.items()}, nodes=nodes, gpus_per_node=gpus_per_node,
            log_every=log_every, checkpoint_every=checkpoint_every, created_by=created_by,
        )  # fmt: skip
        job.output_dir = f"jobs/{job.pk}"
        job.save(update_fields=["output_dir"])
        job.snapshots.set([s.snapshot for s in sources.values() if s.snapshot is not None])
        if enqueue:
            _enqueue(job)
    return job


def _enqueue(job: TrainingJob) -> None:
    """One task, or one per node of a multi-node job (training/nodes.py), once the row is
    committed; by the tasks' names: tasks.py imports the runners, which import this module."""
    if job.nodes == 1:
        lifecycle.enqueue("training.tasks.run_training_job", job.pk, queue=job.queue)
        return
    for index in range(job.nodes):
        lifecycle.enqueue("training.tasks.run_training_node", job.pk, index, queue=job.queue)


def cancel(job: TrainingJob) -> bool:
    """Stop a job: a queued (or stalled) one at once; a running one within a step or two,
    when its runner next reads `cancel_requested` and marks it cancelled (jobs/lifecycle.py)."""
    return lifecycle.cancel(job)


def requeue(job: TrainingJob, *, nodes: int | None = None, gpus_per_node: int | None = None) -> TrainingJob:
    """Queue a failed, cancelled or stalled job again; it resumes from its checkpoint.

    `nodes` / `gpus_per_node` change where it runs (e.g. on the machines left after one
    died): checkpoints are resharded to the new number of ranks (training/checkpoint.py)."""
    nodes, gpus_per_node = nodes or job.nodes, gpus_per_node or job.gpus_per_node
    _check_numbers(nodes, gpus_per_node, job.log_every, job.checkpoint_every)
    _check_memory(job.preset, [stage_from_dict(d) for d in job.stages], nodes, gpus_per_node)
    return lifecycle.requeue(
        job, send=_enqueue, refuse=lambda message: JobValidationError("state", message, status=409),
        nodes=nodes, gpus_per_node=gpus_per_node, rendezvous="",
    )  # fmt: skip


def recover_stalled_jobs() -> list[int]:
    """Requeue running jobs whose worker stopped writing progress (it died): a worker
    calls this when it starts (tasks.py), so a crash costs the steps since the last
    checkpoint, not an hour of waiting for the broker's visibility timeout."""
    return requeue_stalled(TrainingJob.objects.all(), requeue, JobValidationError)
