"""`python manage.py export_dataset --rule NAME -o FILE`: the API's snapshot build, from the shell.

--rule names a stored rule, or is a JSON rule object (stored as a new rule named by
--name, default `cli-<digest>`). The snapshot is built inline (no worker needed),
recorded like any other, and its file copied to FILE.
"""

from __future__ import annotations

import json
import shutil

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exports.build import ExportError, create_rule, request_snapshot, run_build, snapshot_path
from exports.formats import FORMATS
from exports.models import FilterRule
from exports.rules import RuleError, parse_rule


class Command(BaseCommand):
    help = "Build a snapshot of a filter rule and write its file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rule", required=True, help="A stored rule's name, or a JSON rule object.")
        parser.add_argument("--name", help="Name for a JSON rule (default cli-<digest>).")
        parser.add_argument("--format", default="llava", choices=FORMATS)
        parser.add_argument("-o", "--output", required=True)

    def handle(self, *args, rule: str, name: str | None, format: str, output: str, **options) -> None:
        try:
            found = self._rule(rule, name)
            snapshot, _created = request_snapshot(found, format, enqueue=False)
        except (RuleError, ExportError) as exc:
            raise CommandError(str(exc)) from None
        snapshot = run_build(snapshot.pk)
        if snapshot.state != "done":
            raise CommandError(f"snapshot {snapshot.pk} is {snapshot.state}: {snapshot.message}")
        shutil.copyfile(snapshot_path(snapshot.file), output)
        self.stdout.write(
            f"snapshot {snapshot.pk}: {snapshot.item_count} items, sha256 {snapshot.sha256} -> {output}"
        )

    def _rule(self, text: str, name: str | None) -> FilterRule:
        if not text.lstrip().startswith("{"):
            found = FilterRule.objects.filter(name=text).first()
            if found is None:
                known = ", ".join(FilterRule.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"no filter rule named {text!r}; rules: {known}")
            return found
        try:
            spec = parse_rule(json.loads(text))
        except json.JSONDecodeError as exc:
            raise CommandError(f"--rule: not valid JSON: {exc}") from None
        existing = FilterRule.objects.filter(digest=spec.digest).first()
        return existing or create_rule(name or f"cli-{spec.digest[:12]}", spec.as_dict())
