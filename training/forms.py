"""The "new training job" form: what the page asks, turned into create_training_job's arguments.

Validation proper lives in jobs.py (one place for the page and the API); this form
only parses the fields and puts each JobValidationError next to the field it names.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from catalog.models import Dataset
from exports.models import Snapshot

from .jobs import JobValidationError
from .models import TrainingJob
from .recipes import DATA_ROLES, PARTS, PRESETS, TEMPLATES

LR_FIELDS = {f"lr_{part}": part for part in PARTS}


def data_choices() -> list[tuple[str, str]]:
    """Built llava snapshots and English LLaVA datasets, as "snapshot:ID" / "dataset:ID"."""
    choices = [("", "—")]
    for snapshot in Snapshot.objects.filter(state=Snapshot.State.DONE, format="llava").select_related("rule"):
        choices.append((f"snapshot:{snapshot.pk}", f"snapshot {snapshot.pk} · {snapshot.rule.name} · {snapshot.item_count} examples"))
    for dataset in Dataset.objects.filter(source_format="llava").exclude(source_path="").order_by("name"):
        choices.append((f"dataset:{dataset.pk}", f"dataset {dataset.name} (English file)"))
    return choices


class TrainingJobForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    template = forms.ChoiceField(choices=[(t, t) for t in TEMPLATES])
    preset = forms.ChoiceField(choices=[(p, p) for p in PRESETS], initial="tiny")
    base_job = forms.ModelChoiceField(
        queryset=TrainingJob.objects.filter(state=TrainingJob.State.DONE), required=False,
        help_text="Start from this finished job's model (e.g. the English base for variants 2-4).",
    )  # fmt: skip
    base_path = forms.CharField(required=False, help_text="Or a local Llava checkpoint, relative to MODEL_ROOT.")
    max_steps = forms.IntegerField(required=False, help_text="Optimizer steps per stage (empty: the template's epochs).")
    batch_size = forms.IntegerField(required=False)
    lr_vision_tower = forms.FloatField(required=False, label="Vision tower lr")
    lr_projector = forms.FloatField(required=False, label="Projector lr")
    lr_language_model = forms.FloatField(required=False, label="Language model lr")
    overrides = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Other stage settings as JSON, e.g. {"warmup_ratio": 0.1}.',
    )  # fmt: skip
    nodes = forms.IntegerField(initial=1, help_text="Machines, each with a Celery worker on the gpu queue.")
    gpus_per_node = forms.IntegerField(initial=1, label="GPUs per node")
    log_every = forms.IntegerField(initial=10)
    checkpoint_every = forms.IntegerField(initial=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = data_choices()
        for role in DATA_ROLES:
            self.fields[f"data_{role}"] = forms.ChoiceField(
                choices=choices, required=False, label=f"Data: {role}",
                help_text="Needed only if the template's stages use this role.",
            )  # fmt: skip

    def clean_overrides(self) -> dict[str, Any]:
        text = self.cleaned_data.get("overrides", "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("expected a JSON object of stage settings")
        return value

    def job_arguments(self) -> dict[str, Any]:
        """create_training_job's keyword arguments (call after is_valid())."""
        data = self.cleaned_data
        overrides = dict(data["overrides"])
        for key in ("max_steps", "batch_size"):
            if data.get(key) is not None:
                overrides[key] = data[key]
        for field, part in LR_FIELDS.items():
            if data.get(field) is not None:
                overrides[part] = {**overrides.get(part, {}), "lr": data[field]}
        sources = {}
        for role in DATA_ROLES:
            if data.get(f"data_{role}"):
                kind, pk = data[f"data_{role}"].split(":")
                sources[role] = (Snapshot if kind == "snapshot" else Dataset).objects.get(pk=int(pk))
        return {
            "name": data["name"], "template": data["template"], "preset": data["preset"],
            "base_job": data["base_job"], "base_path": data["base_path"].strip(), "overrides": overrides,
            "data": sources, "nodes": data["nodes"], "gpus_per_node": data["gpus_per_node"], "log_every": data["log_every"],
            "checkpoint_every": data["checkpoint_every"],
        }  # fmt: skip

    def show(self, error: JobValidationError) -> None:
        """Put a service-level error next to the field it is about."""
        field = error.field
        if field.startswith("data."):
            field = "data_" + field.removeprefix("data.")
        elif field.startswith("overrides."):
            key = field.removeprefix("overrides.")
            field = key if key in ("max_steps", "batch_size") else f"lr_{key}" if key in PARTS else "overrides"
        self.add_error(field if field in self.fields else None, error.message)
