"""Translation-only (the study's variant 1): French question -> English -> model -> French answer, scored both ways."""

from __future__ import annotations

import pytest
from evaluation_world import french_snapshot, import_benchmarks

from evaluation.metrics import read_predictions
from evaluation.models import Prediction
from evaluation.runner import run_evaluation
from evaluation.services import create_evaluation_run

pytestmark = pytest.mark.django_db


def test_french_questions_are_answered_in_english_and_scored_in_both_languages(small_world, model_root):
    dataset = import_benchmarks(small_world, "textvqa")["textvqa"]
    snapshot = french_snapshot(dataset)
    assert snapshot.state == "done", snapshot.message
    run = create_evaluation_run(model_path="tiny", benchmark="textvqa", split="val", language="fr",
                                pipeline="translation_only", engine="apertium", max_new_tokens=3, batch_size=16,
                                limit=12, enqueue=False)  # fmt: skip
    assert run.snapshot == snapshot and run.dataset == dataset
    run = run_evaluation(run.pk)
    assert run.state == "done", run.message
    assert set(run.metrics) == {"reference", "lmms_eval", "french", "english"}
    assert run.metrics["english"]["n"] == run.metrics["reference"]["n"] == 12
    rows = list(Prediction.objects.filter(run=run))
    assert all(row.english_prediction for row in rows)
    # The model saw the English prompt: the French question went through apertium first.
    assert all(row.question.endswith("\nAnswer the question using a single word or phrase.") for row in rows)
    lines = read_predictions(model_root / run.predictions_file)
    assert set(lines) == {row.question_id for row in rows}
    record = (model_root / run.predictions_file).read_text().splitlines()[0]
    assert '"english_prediction"' in record


def test_direct_french_run_asks_with_the_versioned_french_suffix(small_world, model_root):
    dataset = import_benchmarks(small_world, "textvqa")["textvqa"]
    french_snapshot(dataset, rule="fr-direct")
    run = run_evaluation(create_evaluation_run(model_path="tiny", benchmark="textvqa", split="val", language="fr",
                                               max_new_tokens=2, limit=5, enqueue=False).pk)  # fmt: skip
    assert run.state == "done", run.message
    assert run.prompts["translation"]["version"] == "fr-suffix-v1"
    question = Prediction.objects.filter(run=run).first().question
    assert question.endswith("\nRépondez à la question en utilisant un seul mot ou une seule expression.")
    assert "english" not in run.metrics
