"""Evaluation runs and their predictions: what was asked, how far it got, what it scored.

A run is a jobs.models.Job (state, heartbeat, attempts), claimed, cancelled and requeued
by jobs/lifecycle.py, so a redelivered message never runs it twice. Paths are relative
to settings.MODEL_ROOT. The tables keep the names they had in `training`
(evaluation/migrations/0001 moved the models without touching the database).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.models import ACTIVE_STATES, Job, JobState

__all__ = ["ACTIVE_STATES", "EvaluationRun", "JobState", "Prediction"]


class EvaluationRun(Job):
    """One model on one benchmark split in one language through one pipeline.

    The model is a training job's output, or any Llava checkpoint directory. English
    runs read the benchmark dataset's own file; French runs read a benchmark-format
    snapshot (translated, and filtered by the audit where the rule says so).
    """

    noun = "run"

    class Meta(Job.Meta):
        db_table = "training_evaluationrun"

    class Pipeline(models.TextChoices):
        DIRECT = "direct"
        TRANSLATION_ONLY = "translation_only", "translation-only"

    name = models.CharField(max_length=200, blank=True, help_text="How result tables label the model.")
    training_job = models.ForeignKey(
        "training.TrainingJob", null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations"
    )
    model_path = models.CharField(max_length=500, blank=True, help_text="A Llava checkpoint, when not a job's output.")
    benchmark = models.CharField(max_length=16, help_text="scienceqa, textvqa or pope.")
    split = models.CharField(max_length=32, help_text="POPE: random, popular, adversarial; else the file's split.")
    language = models.CharField(max_length=8, default="fr")
    pipeline = models.CharField(max_length=20, choices=Pipeline.choices, default=Pipeline.DIRECT)
    engine = models.CharField(max_length=32, blank=True, help_text="Translation engine (translation-only).")
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations",
        help_text="The English benchmark dataset.",
    )  # fmt: skip
    snapshot = models.ForeignKey(
        "exports.Snapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations",
        help_text="The French benchmark snapshot.",
    )  # fmt: skip
    references = models.CharField(max_length=500, blank=True, help_text="The benchmark file scored against.")
    prompts = models.JSONField(default=dict, blank=True, help_text="Prompt suffixes used, and their translations.")
    max_new_tokens = models.PositiveSmallIntegerField(default=16)
    batch_size = models.PositiveSmallIntegerField(default=64)
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="Evaluate the first N items only.")
    queue = models.CharField(max_length=16, default="gpu")

    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    items_per_s = models.FloatField(null=True, blank=True)
    predictions_file = models.CharField(max_length=500, blank=True, help_text="JSONL, relative to MODEL_ROOT.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Per parser: metrics with 95% bootstrap CIs.")
    diagnostics = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.name or self.model_path or self.training_job} on {self.benchmark}/{self.split} ({self.language}, {self.pipeline})"


class Prediction(models.Model):
    """One item's answer, stored as it is made, so a resumed run skips what is done."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="predictions")
    question_id = models.CharField(max_length=200)
    question = models.TextField(help_text="The prompt the model saw.")
    prediction = models.TextField(help_text="The answer scored (French for translation-only runs).")
    english_prediction = models.TextField(blank=True, help_text="Translation-only: the model's English answer.")

    class Meta:
        db_table = "training_prediction"
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "question_id"], name="prediction_once_per_item")]
