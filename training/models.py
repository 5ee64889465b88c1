"""Training jobs: what was asked, how far it got, where the model is (evaluation runs
live in evaluation/models.py).

Job state lives here, not in a Celery result backend, so pages and the API read it
with ordinary queries: a training job is a jobs.models.Job (state, heartbeat, attempts),
claimed, cancelled and requeued by jobs/lifecycle.py, so a redelivered message never
runs a job twice.
Paths are relative to settings.MODEL_ROOT.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.models import ACTIVE_STATES, Job, JobState

__all__ = ["ACTIVE_STATES", "JobState", "LossPoint", "TrainingJob", "TrainingNode"]


class TrainingJob(Job):
    """One adaptation variant trained as a list of stages (training.recipes.Stage dicts).

    The starting model is the preset built fresh, another job's output (`base_job`,
    e.g. the English base for variants 2-4) or a local Llava checkpoint (`base_path`).
    `data` maps each data role of the stages to its source: a snapshot of translated
    data ({"snapshot": id, "sha256": ...}) or an English dataset's own file
    ({"dataset": id}).
    """

    name = models.CharField(max_length=200, blank=True)
    template = models.CharField(max_length=32, help_text="training.recipes.TEMPLATES")
    preset = models.CharField(max_length=32, default="tiny", help_text="training.recipes.PRESETS")
    base_job = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived_jobs",
        help_text="Start from this job's output model.",
    )  # fmt: skip
    base_path = models.CharField(max_length=500, blank=True, help_text="Start from a local Llava checkpoint.")
    stages = models.JSONField(help_text="The stages as run (template defaults with overrides applied).")
    overrides = models.JSONField(default=dict, blank=True, help_text="Settings the user changed, as given.")
    data = models.JSONField(default=dict, help_text="Data role -> {'snapshot': id, 'sha256': ...} or {'dataset': id}.")
    snapshots = models.ManyToManyField("exports.Snapshot", blank=True, related_name="training_jobs")
    nodes = models.PositiveSmallIntegerField(default=1, help_text="Machines: one Celery gpu worker each (training/nodes.py).")
    gpus_per_node = models.PositiveSmallIntegerField(default=1, help_text="Processes (GPUs) per machine, under torchrun.")
    rendezvous = models.CharField(max_length=200, blank=True, help_text="host:port of a multi-node job's torchrun rendezvous.")
    queue = models.CharField(max_length=16, default="gpu")
    log_every = models.PositiveIntegerField(default=10, help_text="A loss point every N optimizer steps.")
    checkpoint_every = models.PositiveIntegerField(default=100, help_text="A checkpoint every M optimizer steps.")

    stage_index = models.PositiveSmallIntegerField(default=0, help_text="The stage running now (0-based).")
    step = models.PositiveIntegerField(default=0, help_text="Optimizer steps done in the current stage.")
    total_steps = models.PositiveIntegerField(default=0, help_text="Optimizer steps of the current stage.")
    samples_per_s = models.FloatField(null=True, blank=True)
    checkpoint = models.CharField(max_length=500, blank=True, help_text="The latest checkpoint of the current stage.")
    stage_models = models.JSONField(default=list, blank=True, help_text="Each finished stage's model directory.")
    output_dir = models.CharField(max_length=500, blank=True)
    output_model = models.CharField(max_length=500, blank=True, help_text="The final model, once done.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return self.name or f"{self.template} ({self.preset}) #{self.pk}"

    @property
    def ranks(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def percent(self) -> float:
        return 100.0 * self.step / self.total_steps if self.total_steps else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left in the current stage at the measured rate (later stages unknown)."""
        if self.state != JobState.RUNNING or not self.samples_per_s or not self.total_steps:
            return None
        stage = self.stages[self.stage_index] if self.stage_index < len(self.stages) else {}
        per_step = stage.get("batch_size", 1) * stage.get("gradient_accumulation", 1)
        return (self.total_steps - self.step) * per_step / self.samples_per_s


class TrainingNode(models.Model):
    """One machine of a multi-node job's attempt: which worker runs it, its ranks, how far it got.

    Written by the node's own Celery task and by its first process (training/nodes.py),
    never by another node, so nodes do not contend for one row."""

    class State(models.TextChoices):
        WAITING = "waiting"  # its worker waits for the rendezvous address
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="nodes_run")
    attempt = models.PositiveSmallIntegerField()
    index = models.PositiveSmallIntegerField(help_text="The node's task: 0 claims the job and hosts the rendezvous.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    worker = models.CharField(max_length=200, blank=True, help_text="The Celery worker's name.")
    host = models.CharField(max_length=200, blank=True)
    first_rank = models.PositiveIntegerField(null=True, blank=True, help_text="Its first global rank, once joined.")
    step = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "attempt", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "attempt", "index"], name="trainingnode_once")]

    def rank_range(self, gpus_per_node: int) -> str:
        if self.first_rank is None:
            return "–"
        last = self.first_rank + gpus_per_node - 1
        return str(self.first_rank) if last == self.first_rank else f"{self.first_rank}–{last}"


class LossPoint(models.Model):
    """Mean loss over the last `log_every` steps. Unique per (job, stage, step): a resumed
    job deletes the points after its checkpoint and writes them again, never twice."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="loss_points")
    stage_index = models.PositiveSmallIntegerField()
    step = models.PositiveIntegerField()
    loss = models.FloatField()
    lr = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "stage_index", "step"]
        constraints = [
            models.UniqueConstraint(fields=["job", "stage_index", "step"], name="losspoint_once_per_step"),
        ]
