"""Export rules and the frozen snapshots built from them.

The selection logic is pure (exports/rules.py); building and serving live in
exports/build.py and exports/api.py. The tables keep the names they had in `audit`
(exports/migrations/0001 moved the models without touching the database).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FilterRule(models.Model):
    """Which translations an export keeps, stored as data (validated by exports.rules.parse_rule)."""

    name = models.SlugField(max_length=100, unique=True)
    spec = models.JSONField(help_text="The canonical rule: min_grade, require_agreement, unaudited, datasets, ...")
    digest = models.CharField(max_length=64, help_text="sha256 of the canonical spec.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "audit_filterrule"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Snapshot(models.Model):
    """A frozen, content-hashed export of a rule. Built once by a job, then never changed."""

    class State(models.TextChoices):
        QUEUED = "queued"
        BUILDING = "building"
        DONE = "done"
        FAILED = "failed"

    ACTIVE_STATES = (State.QUEUED, State.BUILDING)

    rule = models.ForeignKey(FilterRule, on_delete=models.PROTECT, related_name="snapshots")
    rule_spec = models.JSONField(help_text="A copy of the rule as it was built.")
    format = models.CharField(max_length=16, help_text="llava, jsonl or benchmark.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    message = models.TextField(blank=True, help_text="Why the build failed.")
    file = models.CharField(max_length=300, blank=True, help_text="Relative to EXPORT_ROOT.")
    items_file = models.CharField(max_length=300, blank=True, help_text="The frozen item list (item, translation ids).")
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Kept records per grade, task type and grade source.")
    balance = models.JSONField(default=dict, blank=True, help_text="exports.balance report.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Written every few seconds while building; stale means the worker died."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "audit_snapshot"
        ordering = ["-created_at"]
        constraints = [
            # Two requests building the same rule at once get one job (exports/build.py relies on it).
            models.UniqueConstraint(
                fields=["rule", "format"], condition=models.Q(state__in=["queued", "building"]),
                name="snapshot_one_active_build",
            ),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.pk} of {self.rule_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES
