"""Translation jobs gained the lifecycle's `attempts` and `cancel_requested` (migration 0004,
jobs.models.Job): a job stored before it keeps every value, reads as never asked to stop,
and the one lifecycle claims it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jobs import lifecycle
from translation.models import TranslationJob

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("translation", "0003_translation_injected_error")]
AFTER = [("translation", "0004_lifecycle_fields")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_a_job_stored_before_the_lifecycle_fields_survives_them():
    old = migrate(BEFORE)
    try:
        dataset = old.get_model("audit", "Dataset").objects.create(name="old", kind="train", source_format="llava")
        job = old.get_model("translation", "TranslationJob").objects.create(
            dataset_id=dataset.pk, engine="apertium", state="failed", total=40, done=12, message="server down"
        )
    finally:
        migrate(AFTER)
    row = TranslationJob.objects.get(pk=job.pk)
    assert (row.state, row.total, row.done, row.message) == ("failed", 40, 12, "server down")
    assert (row.attempts, row.cancel_requested) == (0, False)
    TranslationJob.objects.filter(pk=row.pk).update(state="queued")
    claimed, row = lifecycle.claim(TranslationJob.objects.all(), row.pk)
    assert claimed and row.attempts == 1
