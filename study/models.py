"""A study run: which world, engine and preset, and how far each step of the plan got."""

from __future__ import annotations

from django.db import models

from .plan import STEPS


class Study(models.Model):
    """One miniature study. The objects it makes (datasets, jobs, rules, snapshots,
    runs) carry deterministic names, so a second run finds and reuses finished ones."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    name = models.SlugField(max_length=100, unique=True)
    preset = models.CharField(max_length=32, default="tiny")
    world_size = models.CharField(max_length=16, default="full")
    engine = models.CharField(max_length=32, default="apertium")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    step = models.CharField(max_length=32, default=STEPS[0], help_text="The step in progress.")
    steps = models.JSONField(default=dict, blank=True, help_text="Step -> {state, detail, seconds}.")
    objects_made = models.JSONField(default=dict, blank=True, help_text="Ids of what each step made or reused.")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name

    @property
    def elapsed_seconds(self) -> float | None:
        end = self.finished_at or self.heartbeat_at
        return (end - self.started_at).total_seconds() if self.started_at and end else None
