"""Translations of items. An item may have several (engines compared side by side)."""

from __future__ import annotations

from django.db import models

from audit.models import Assessment
from catalog.models import Item
from jobs.models import Job


class Translation(models.Model):
    Grade = Assessment.Grade  # the suggested grade speaks the annotators' scale

    class InjectedError(models.TextChoices):
        """An error put in on purpose (translation.injection) so a study knows the truth.

        The study's simulated annotators read this as a translation's real quality.
        """

        NONE = "", "none"
        ANSWER_CHANGED = "answer_changed", "answer changed"
        MEANING_CHANGED = "meaning_changed", "meaning changed"
        UNTRANSLATED = "untranslated", "untranslated"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="translations")
    target_language = models.CharField(max_length=8, default="fr")
    turns = models.JSONField(help_text="Translated LLaVA turns, same shape and order as the item's.")
    meta = models.JSONField(default=dict, blank=True, help_text="Translated choices / reference answers / labels.")
    engine = models.CharField(max_length=32)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Sampling parameters.")
    seconds = models.FloatField(default=0.0, help_text="Engine time attributed to this item.")
    tokens = models.PositiveIntegerField(default=0)
    checks = models.JSONField(default=dict, blank=True, help_text="Automatic quality checks.")
    suggested_grade = models.CharField(max_length=16, choices=Grade.choices, blank=True)
    injected_error = models.CharField(
        max_length=24,
        choices=InjectedError.choices,
        blank=True,
        default="",
        help_text="The error injected into this translation on purpose, if any (a study's ground truth).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Re-running a job skips what the same engine, model and prompt already did.
            models.UniqueConstraint(
                fields=["item", "target_language", "engine", "model", "prompt_version"],
                name="translation_unique_version",
            ),
        ]
        indexes = [
            # The audit queue orders candidates by suggested grade within an engine version.
            models.Index(fields=["engine", "model", "prompt_version", "suggested_grade"], name="translation_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item} [{self.engine} {self.target_language}]"


class TranslationJob(Job):
    """A batch translation of one dataset with one engine; its progress lives here.

    Rows and progress are written in one transaction per batch, so `done` always equals
    the translations this job stored, and a killed worker loses only the batch in flight.
    """

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="translation_jobs")
    engine = models.CharField(max_length=32)
    model = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="Engine options (base_url, device, ...).")
    source_language = models.CharField(max_length=8, default="en")
    target_language = models.CharField(max_length=8, default="fr")
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="Translate at most this many items.")
    batch_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Items per batch (what a killed worker may lose); default: the engine's."
    )
    round_trip = models.BooleanField(default=True, help_text="Translate back to score the round trip (chrF).")
    queue = models.CharField(max_length=16, default="default")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_log = models.JSONField(default=list, blank=True, help_text="The latest per-item errors.")
    engine_seconds = models.FloatField(default=0.0)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    run_started_done = models.PositiveIntegerField(default=0, help_text="`done` when the current run started.")

    def __str__(self) -> str:
        return f"translate {self.dataset} with {self.engine} ({self.state})"

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else (100.0 if self.state == self.State.DONE else 0.0)

    @property
    def items_per_second(self) -> float | None:
        """The current run's rate: items done since it started over the time it has run."""
        end = self.finished_at if self.finished_at else self.heartbeat_at
        if not self.started_at or not end:
            return None
        seconds = (end - self.started_at).total_seconds()
        done = self.done - self.run_started_done
        return done / seconds if seconds > 0 and done > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.items_per_second
        if not self.is_active or not rate:
            return None
        return max(self.total - self.done, 0) / rate
