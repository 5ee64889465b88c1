"""An evaluation run end to end: a tiny model answers small-world benchmarks through a real worker."""

from __future__ import annotations

import pytest
from evaluation_world import done_job, import_benchmarks

from evaluation.metrics import read_predictions
from evaluation.models import EvaluationRun, Prediction
from evaluation.runner import run_evaluation
from evaluation.services import create_evaluation_run, find_source, load_items

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_queued_run_is_answered_scored_and_its_predictions_read_back(
    small_world, model_root, celery_worker_factory, wait_for, settings
):
    import_benchmarks(small_world, "pope")
    job = done_job("tiny", name="english base")
    run = create_evaluation_run(training_job=job, benchmark="pope", split="random", language="en",
                                max_new_tokens=3, batch_size=16, limit=40)  # fmt: skip
    assert run.state == "queued" and run.total == 40
    celery_worker_factory(env={"MODEL_ROOT": str(model_root), "EXPORT_ROOT": str(settings.EXPORT_ROOT),
                               "OMP_NUM_THREADS": "1"})  # fmt: skip
    run = wait_for(lambda: EvaluationRun.objects.filter(pk=run.pk, state__in=["done", "failed"]).first(),
                   timeout=90, what="the run to finish")  # fmt: skip
    assert run.state == "done", run.message
    assert run.done == 40 and run.items_per_s > 0
    reference = run.metrics["reference"]
    assert reference["n"] == 40 and 0 <= reference["accuracy"] <= 1
    assert set(reference["ci95"]) >= {"accuracy", "f1", "yes_ratio"}
    assert set(run.metrics) == {"reference", "lmms_eval", "french"}
    assert run.prompts["suffix"] == "Answer the question using a single word or phrase."
    predictions = read_predictions(model_root / run.predictions_file)
    assert len(predictions) == 40
    stored = dict(Prediction.objects.filter(run=run).values_list("question_id", "prediction"))
    assert predictions == stored
    question = Prediction.objects.filter(run=run).first().question
    assert question.endswith("?\nAnswer the question using a single word or phrase.")


def test_a_resumed_run_answers_only_the_questions_left(small_world, model_root):
    import_benchmarks(small_world, "scienceqa")
    run = create_evaluation_run(model_path="tiny", benchmark="scienceqa", split="test", language="en",
                                max_new_tokens=2, batch_size=8, limit=12, enqueue=False)  # fmt: skip
    # A worker died after its first batch: 8 answers stored before it went.
    first = [item.question_id for item in load_items("scienceqa", "test", find_source("scienceqa", "test", "en"), 8)]
    Prediction.objects.bulk_create(Prediction(run=run, question_id=q, question="asked before", prediction="Z") for q in first)
    run = run_evaluation(run.pk)
    assert run.state == "done", run.message
    rows = Prediction.objects.filter(run=run)
    assert rows.count() == 12
    assert set(rows.filter(question="asked before").values_list("question_id", flat=True)) == set(first)
    others = rows.exclude(question_id__in=first)
    assert others.count() == 4
    assert all(p.question.endswith("Answer with the option's letter from the given choices directly.") for p in others)
    assert run.metrics["reference"]["n"] == 12
    assert "subject" in run.metrics["reference"]["groups"]


@pytest.mark.slow
def test_a_run_whose_worker_was_killed_is_finished_by_the_next_worker_without_a_requeue(
    small_world, model_root, celery_worker_factory, wait_for, settings
):
    import os
    import signal

    from child_processes import FAST_RECOVERY

    settings.JOB_STALE_SECONDS = 2
    import_benchmarks(small_world, "pope")
    run = create_evaluation_run(model_path="tiny", benchmark="pope", split="random", language="en",
                                max_new_tokens=3, batch_size=4, limit=80)  # fmt: skip
    env = {"MODEL_ROOT": str(model_root), "EXPORT_ROOT": str(settings.EXPORT_ROOT), "OMP_NUM_THREADS": "1",
           **FAST_RECOVERY}  # fmt: skip
    worker = celery_worker_factory(env=env)
    wait_for(lambda: Prediction.objects.filter(run=run).count() >= 8, timeout=120, what="a first batch")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert EvaluationRun.objects.get(pk=run.pk).state == "running"
    celery_worker_factory(env=env)
    run = wait_for(lambda: EvaluationRun.objects.filter(pk=run.pk, state__in=["done", "failed"]).first(),
                   timeout=120, what="the recovered run to finish")  # fmt: skip
    assert run.state == "done", run.message
    answers = Prediction.objects.filter(run=run)
    assert run.attempts == 2 and answers.count() == run.total == run.done  # each question answered once
    assert answers.values("question_id").distinct().count() == run.total
