"""What a migration that moves models between apps runs besides the state change: the
models' content types follow them, so permissions and admin history keep pointing at
them (audit/0009, audit/0010 and evaluation/0001 use it). Moving back relabels them back."""

from __future__ import annotations

from django.db import migrations


def move_content_types(old: str, new: str, models: tuple[str, ...]) -> migrations.RunPython:
    def relabel(source: str, target: str):
        def run(apps, schema_editor) -> None:
            content_types = apps.get_model("contenttypes", "ContentType").objects
            taken = set(content_types.filter(app_label=target, model__in=models).values_list("model", flat=True))
            content_types.filter(app_label=source, model__in=set(models) - taken).update(app_label=target)

        return run

    return migrations.RunPython(relabel(old, new), relabel(new, old))
