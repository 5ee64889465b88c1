"""Every kind of job whose worker died is recovered through the one lifecycle: the recovery a
starting worker runs (jobs.lifecycle.recover_stalled_jobs) sends it again, and its task
takes it over and runs it to the end. The tasks run here, inline, as the worker would run
them; the kill-a-real-worker tests of each kind (tests/translation, tests/training,
tests/audit/test_export_concurrency.py, tests/study) show the same on real workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from evaluation_world import import_benchmarks
from export_world import graded_world
from jobs_world import SMALL, english_dataset

import evaluation.tasks
import exports.tasks
import study.tasks
import training.tasks
import translation.tasks
from catalog.services import import_dataset
from evaluation.models import EvaluationRun
from evaluation.services import create_evaluation_run
from exports.build import create_rule, request_snapshot
from exports.models import Snapshot
from jobs import lifecycle
from study import pipeline
from study.models import Study
from study.pipeline import start_study
from training.jobs import create_training_job
from training.models import TrainingJob
from translation.models import Translation, TranslationJob
from translation.services import create_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch):
    """What the recovery sends: each task runs here, at once, as a worker would run it
    (the study's task is only recorded: a whole study is tests/study's business)."""
    sent: list[tuple[str, list]] = []

    def run_here(task, run: bool = True) -> None:
        def apply_async(args, **options):
            sent.append((task.name.rsplit(".", 1)[-1], args))
            if run:
                task(*args)

        monkeypatch.setattr(task, "apply_async", apply_async)

    for task in (translation.tasks.run_translation_job, training.tasks.run_training_job,
                 evaluation.tasks.run_evaluation, exports.tasks.build_snapshot):  # fmt: skip
        run_here(task)
    run_here(study.tasks.advance_study, run=False)
    return sent


def died_running(model, pk: int, *, claim: bool = True) -> None:
    """A worker took the row, then died: running, and silent for longer than JOB_STALE_SECONDS."""
    if claim:
        assert lifecycle.claim(model.objects.all(), pk)[0]
    model.objects.filter(pk=pk).update(heartbeat_at=lifecycle.stale_before() - timedelta(seconds=1))


def test_a_translation_job_whose_worker_died_is_finished(small_world, sent):
    instruct = import_dataset(small_world / "llava/llava_instruct.json", format="llava", name="instruct",
                              images=small_world / "images").dataset  # fmt: skip
    job = create_job(instruct, engine="apertium", limit=6, round_trip=False)
    died_running(TranslationJob, job.pk)

    assert lifecycle.recover_stalled_jobs() == {"translation jobs": [job.pk]}
    job.refresh_from_db()
    assert sent == [("run_translation_job", [job.pk])]
    assert (job.state, job.done, job.attempts) == ("done", 6, 2), job.message
    assert Translation.objects.filter(item__dataset=instruct).count() == 6


def test_a_training_job_whose_worker_died_is_finished(tmp_path, settings, sent):
    settings.MODEL_ROOT, settings.TRAINING_THREADS = tmp_path / "models", 1
    dataset = english_dataset(tmp_path / "data")
    job = create_training_job(template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset},
                              overrides=SMALL, enqueue=False)  # fmt: skip
    died_running(TrainingJob, job.pk)

    assert lifecycle.recover_stalled_jobs() == {"training jobs": [job.pk]}
    job.refresh_from_db()
    assert sent == [("run_training_job", [job.pk])]
    assert (job.state, job.attempts, job.stage_index) == ("done", 2, 2), job.message
    assert job.output_model


def test_an_evaluation_run_whose_worker_died_is_finished(small_world, model_root, sent):
    import_benchmarks(small_world, "pope")
    run = create_evaluation_run(model_path="tiny", benchmark="pope", split="random", language="en",
                                max_new_tokens=3, batch_size=8, limit=8, enqueue=False)  # fmt: skip
    died_running(EvaluationRun, run.pk)

    assert lifecycle.recover_stalled_jobs() == {"evaluation runs": [run.pk]}
    run.refresh_from_db()
    assert sent == [("run_evaluation", [run.pk])]
    assert (run.state, run.done, run.attempts) == ("done", 8, 2), run.message
    assert run.metrics["reference"]["n"] == 8


def test_a_snapshot_build_whose_worker_died_is_finished(tmp_path, settings, sent):
    settings.EXPORT_ROOT = tmp_path / "exports"
    graded_world(8)
    rule = create_rule("high", {"min_grade": "high"})
    snapshot, _ = request_snapshot(rule, "llava", enqueue=False)
    # A build is claimed as "building" and counts no attempts (exports/build.py).
    long_ago = lifecycle.stale_before() - timedelta(seconds=1)
    Snapshot.objects.filter(pk=snapshot.pk).update(state="building", started_at=long_ago, heartbeat_at=long_ago)

    assert lifecycle.recover_stalled_jobs() == {"snapshot builds": [snapshot.pk]}
    snapshot.refresh_from_db()
    assert sent == [("build_snapshot", [snapshot.pk])]
    assert snapshot.state == "done" and snapshot.item_count > 0, snapshot.message


def test_a_study_whose_worker_died_is_sent_on(sent):
    """A study's rounds are short tasks (study/tasks.py): a starting worker sends the next one."""
    queued = start_study(world_size="small")
    running = start_study(world_size="small", name="study-running")
    Study.objects.filter(pk=running.pk).update(state="running", heartbeat_at=lifecycle.stale_before())
    Study.objects.create(name="study-done", state="done")

    recovered = lifecycle.recover_stalled_jobs()
    assert sorted(recovered["studies"]) == sorted([queued.pk, running.pk])
    assert sorted(sent) == sorted([("advance_study", [queued.pk]), ("advance_study", [running.pk])])


def test_starting_a_study_again_restarts_it_only_once_its_rounds_stopped():
    study = start_study(world_size="small")
    alive = timezone.now()
    Study.objects.filter(pk=study.pk).update(state="running", started_at=alive, heartbeat_at=alive)
    assert start_study(world_size="small").state == "running"  # its chain goes on: no second one

    # A round writes the heartbeat once, so a study is stalled later than a job (pipeline.STALE_SECONDS).
    quiet = alive - timedelta(seconds=pipeline.STALE_SECONDS - 5)
    Study.objects.filter(pk=study.pk).update(heartbeat_at=quiet)
    assert start_study(world_size="small").state == "running"
    Study.objects.filter(pk=study.pk).update(heartbeat_at=quiet - timedelta(seconds=10))
    assert start_study(world_size="small").state == "queued"
