"""Dataset and Item moved from audit to catalog (catalog/0001, audit/0009), FilterRule and
Snapshot to exports (exports/0001, audit/0010), EvaluationRun and Prediction from training
to evaluation (evaluation/0001, training/0006): a database migrated from the schema before
the moves keeps every row and every link to them, their content types and permissions
follow them, new rows still get fresh ids, and the moves can be undone without losing
anything either."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import Campaign
from catalog.models import Dataset, Item
from evaluation.models import EvaluationRun, Prediction
from exports.models import FilterRule, Snapshot
from training.models import TrainingJob
from translation.models import Translation, TranslationJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [
    ("audit", "0008_assessment_client_key"),
    ("translation", "0004_lifecycle_fields"),
    ("training", "0003_lifecycle_fields"),
    ("catalog", None),
    ("exports", None),
    ("evaluation", None),
]


def migrate(targets=None):
    """Migrate to `targets` (every app's latest when None) and return that state's models."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def store_before_the_move(old) -> dict[str, int]:
    """One of each row that points at a dataset or an item, written through the old models."""
    user = old.get_model("auth", "User").objects.create(username="admin")
    dataset = old.get_model("audit", "Dataset").objects.create(
        name="instruct", kind="train", source_format="llava", image_root="/data/images"
    )
    item = old.get_model("audit", "Item").objects.create(
        dataset=dataset, external_id="r7", image="a.png", task_type="yes_no", source_index=3,
        conversations=[{"from": "human", "value": "<image>\nIs there a box?"}, {"from": "gpt", "value": "Yes."}],
        meta={"answer": "yes"}, content_hash="h" * 64,
    )  # fmt: skip
    translation = old.get_model("translation", "Translation").objects.create(
        item=item, engine="apertium", target_language="fr",
        turns=[{"from": "human", "value": "<image>\nY a-t-il une boîte ?"}, {"from": "gpt", "value": "Oui."}],
    )  # fmt: skip
    translation_job = old.get_model("translation", "TranslationJob").objects.create(dataset=dataset, engine="apertium")
    campaign = old.get_model("audit", "Campaign").objects.create(name="first", dataset=dataset, created_by=user)
    rule = old.get_model("audit", "FilterRule").objects.create(name="high", spec={"min_grade": "high"}, digest="d" * 64)
    snapshot = old.get_model("audit", "Snapshot").objects.create(
        rule=rule, rule_spec={"min_grade": "high"}, format="llava", state="done", item_count=1, created_by=user
    )
    run = old.get_model("training", "EvaluationRun").objects.create(benchmark="pope", dataset=dataset, snapshot=snapshot)
    prediction = old.get_model("training", "Prediction").objects.create(run=run, question_id="q1", question="?", prediction="Oui")
    job = old.get_model("training", "TrainingJob").objects.create(template="variant2", stages=[])
    job.snapshots.add(snapshot)
    content_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(app_label="audit", model="item")[0]
    permission = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=content_type, codename="change_item", defaults={"name": "Can change item"}
    )[0]
    content_types = old.get_model("contenttypes", "ContentType").objects
    snapshot_type = content_types.get_or_create(app_label="audit", model="snapshot")[0]
    run_type = content_types.get_or_create(app_label="training", model="evaluationrun")[0]
    return {"dataset": dataset.pk, "item": item.pk, "translation": translation.pk, "translation_job": translation_job.pk,
            "campaign": campaign.pk, "run": run.pk, "content_type": content_type.pk, "permission": permission.pk,
            "rule": rule.pk, "snapshot": snapshot.pk, "training_job": job.pk, "snapshot_type": snapshot_type.pk,
            "prediction": prediction.pk, "run_type": run_type.pk}  # fmt: skip


def test_rows_stored_before_the_move_keep_their_values_and_links():
    try:
        ids = store_before_the_move(migrate(BEFORE))
    finally:
        migrate()
    item = Item.objects.select_related("dataset").get(pk=ids["item"])
    assert (item.external_id, item.task_type, item.source_index, item.meta) == ("r7", "yes_no", 3, {"answer": "yes"})
    assert item.conversations[1] == {"from": "gpt", "value": "Yes."}
    assert (item.dataset.pk, item.dataset.name, item.dataset.image_root) == (ids["dataset"], "instruct", "/data/images")
    assert Translation.objects.get(pk=ids["translation"]).item == item
    assert TranslationJob.objects.get(pk=ids["translation_job"]).dataset == item.dataset
    assert Campaign.objects.get(pk=ids["campaign"]).dataset == item.dataset
    snapshot = Snapshot.objects.select_related("rule").get(pk=ids["snapshot"])
    assert (snapshot.rule.name, snapshot.rule.spec, snapshot.state, snapshot.created_by.username) == (
        "high", {"min_grade": "high"}, "done", "admin"
    )
    assert (EvaluationRun.objects.get(pk=ids["run"]).dataset, EvaluationRun.objects.get(pk=ids["run"]).snapshot) == (
        item.dataset, snapshot
    )
    assert list(TrainingJob.objects.get(pk=ids["training_job"]).snapshots.all()) == [snapshot]
    prediction = Prediction.objects.select_related("run").get(pk=ids["prediction"])
    assert (prediction.run.pk, prediction.question_id, prediction.prediction) == (ids["run"], "q1", "Oui")
    assert list(item.dataset.items.all()) == [item] and list(item.translations.values_list("pk", flat=True)) == [ids["translation"]]
    # Admin history and permissions point at the same content type, now catalog's.
    assert ContentType.objects.get_for_model(Item).pk == ids["content_type"]
    assert Permission.objects.get(pk=ids["permission"]).content_type.app_label == "catalog"
    assert ContentType.objects.get_for_model(Snapshot).pk == ids["snapshot_type"]
    assert ContentType.objects.get_for_model(EvaluationRun).pk == ids["run_type"]
    # The tables' id sequences carry on: a new row neither collides nor fails.
    fresh = Item.objects.create(
        dataset=item.dataset, external_id="r8", task_type="yes_no", source_index=4, conversations=[], content_hash="g" * 64
    )
    assert fresh.pk > item.pk
    assert FilterRule.objects.create(name="all", spec={}, digest="e" * 64).pk > ids["rule"]


def test_the_moves_can_be_undone_without_losing_rows():
    try:
        ids = store_before_the_move(migrate(BEFORE))
        migrate()
        old = migrate(BEFORE)
        item = old.get_model("audit", "Item").objects.get(pk=ids["item"])
        assert (item.external_id, item.dataset.name) == ("r7", "instruct")
        assert old.get_model("translation", "Translation").objects.get(pk=ids["translation"]).item_id == item.pk
        assert old.get_model("audit", "Snapshot").objects.get(pk=ids["snapshot"]).rule.name == "high"
        assert old.get_model("training", "TrainingJob").objects.get(pk=ids["training_job"]).snapshots.count() == 1
        content_types = old.get_model("contenttypes", "ContentType").objects
        assert {content_types.get(pk=ids[k]).app_label for k in ("content_type", "snapshot_type")} == {"audit"}
        assert content_types.get(pk=ids["run_type"]).app_label == "training"
        assert old.get_model("training", "Prediction").objects.get(pk=ids["prediction"]).run_id == ids["run"]
    finally:
        migrate()
    assert Dataset.objects.get(pk=ids["dataset"]).items.count() == 1
