"""The fields every kind of job keeps on its own row (translation jobs, training jobs,
evaluation runs): state, cancel request, message, attempts, timestamps, heartbeat.

Abstract: each kind has its own table; this app has no migrations. jobs/lifecycle.py
claims, beats, cancels and requeues any row with these fields. Snapshot builds and
studies keep their own fields (exports/models.py, study/models.py: a build's state is
"building", a study cannot be cancelled) and share the lifecycle's heartbeat and
staleness.
"""

from __future__ import annotations

from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class Job(models.Model):
    State = JobState
    ACTIVE_STATES = ACTIVE_STATES
    noun = "job"  # what messages and job-page buttons call one (an evaluation says "run")

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    message = models.TextField(blank=True, help_text="Why the job failed, and how to fix it.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started the job.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        # Claims and recovery look for running rows with an old heartbeat.
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="%(class)s_state_idx")]

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES
