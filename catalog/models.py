"""Datasets and their items (the units of translation and audit).

An Item is one QA unit: an image reference and a conversation in LLaVA's shape, plus
the benchmark metadata that scoring needs. Image bytes never enter the database: the
path is relative to the dataset's image root, so a dataset can move between machines.
The tables keep the names they had in `audit` (catalog/migrations/0001 moved the models
without touching the database).
"""

from __future__ import annotations

from django.db import models


class Dataset(models.Model):
    class Kind(models.TextChoices):
        TRAIN = "train", "training data"
        BENCHMARK = "benchmark", "benchmark"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_format = models.CharField(max_length=16)
    language = models.CharField(max_length=8, default="en")
    image_root = models.CharField(
        max_length=500, blank=True, help_text="Directory that item image paths are relative to."
    )
    source_path = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "audit_dataset"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One QA unit. `(dataset, external_id)` is unique, which makes imports idempotent."""

    class TaskType(models.TextChoices):
        CAPTION = "caption"
        COLOUR = "colour"
        COUNT = "count"
        POSITION = "position"
        YES_NO = "yes_no", "yes/no"
        READING = "reading"
        MULTIPLE_CHOICE = "multiple_choice", "multiple choice"
        CONVERSATION = "conversation"
        SCIENCEQA = "scienceqa", "ScienceQA"
        TEXTVQA = "textvqa", "TextVQA"
        POPE = "pope", "POPE"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    image = models.CharField(max_length=500, blank=True, help_text="Relative to the dataset's image root.")
    conversations = models.JSONField(help_text="LLaVA turns: [{'from': 'human'|'gpt', 'value': str}, ...]")
    task_type = models.CharField(max_length=32, choices=TaskType.choices)
    split = models.CharField(max_length=32, blank=True, help_text="Benchmark split, e.g. POPE's 'adversarial'.")
    meta = models.JSONField(default=dict, blank=True, help_text="Choices and answer index, reference answers, labels.")
    source_index = models.PositiveIntegerField(help_text="Position of the record in the imported file.")
    # sha256 of the record as imported: a re-import compares hashes and writes only what changed.
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "audit_item"
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="item_unique_external_id"),
        ]
        indexes = [
            # Exports and jobs walk a dataset in file order (task-type filters ride along).
            # One index, not one per filter: every index slows the 558k-row import's COPY.
            models.Index(fields=["dataset", "source_index"], name="item_dataset_order_idx"),
        ]
        ordering = ["dataset_id", "source_index"]

    def __str__(self) -> str:
        return f"{self.dataset.name}:{self.external_id}"
