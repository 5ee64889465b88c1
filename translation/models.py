"""Translations of items. An item may have several (engines compared side by side)."""

from __future__ import annotations

from django.db import models

from audit.models import Item


class Translation(models.Model):
    class Grade(models.TextChoices):
        HIGH = "high"
        MODERATE = "moderate"
        LOW = "low"

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
