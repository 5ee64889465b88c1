"""`manage.py export_dataset`: same snapshot as the API, file written where asked, clear errors."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from django.core.management import CommandError, call_command
from export_world import graded_world

from exports.models import Snapshot

pytestmark = pytest.mark.django_db


def test_export_with_a_json_rule_and_again_by_name(tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path / "exports"
    graded_world(16)
    out = tmp_path / "train.json"
    call_command("export_dataset", "--rule", '{"min_grade": "moderate"}', "--name", "hm", "-o", str(out))
    records = orjson.loads(out.read_bytes())
    assert len(records) == 8
    snapshot = Snapshot.objects.get()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == snapshot.sha256
    again = tmp_path / "again.jsonl"
    call_command("export_dataset", "--rule", "hm", "--format", "jsonl", "-o", str(again))
    assert len(again.read_bytes().splitlines()) == 8


def test_unknown_rule_and_bad_field_are_errors(tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path
    graded_world(4)
    with pytest.raises(CommandError, match="no filter rule named 'nope'"):
        call_command("export_dataset", "--rule", "nope", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="colour"):
        call_command("export_dataset", "--rule", '{"colour": "red"}', "-o", str(tmp_path / "x"))
