"""The whole study, small: world -> import -> translate -> campaign -> snapshots -> English
base -> variants 2-4 on three rules -> evaluations (translation-only included), on real
Celery workers (a starting worker picks the queued study up by itself, and again after the
first worker is killed mid-training); then the study page in chromium shows a row per variant
and rule."""

from __future__ import annotations

import os
import signal

import pytest
from child_processes import FAST_RECOVERY

from audit.models import Assessment, Campaign
from accounts.roles import ADMIN, ANNOTATOR, create_user
from evaluation.models import EvaluationRun
from exports.models import Snapshot
from study import plan
from study.models import Study
from study.pipeline import start_study
from training.models import TrainingJob
from translation.models import Translation

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def roots(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    env = {}
    for name in ("DATA_ROOT", "EXPORT_ROOT", "MODEL_ROOT"):
        path = tmp_path / name.lower()
        path.mkdir()
        setattr(settings, name, path)
        env[name] = str(path)
    env["TRAINING_THREADS"] = "1"
    return env


def test_small_study_runs_end_to_end_and_the_page_shows_every_variant(roots, celery_worker_factory, wait_for,
                                                                     live_server, browser_page, settings):
    settings.JOB_STALE_SECONDS = 2
    create_user("ann", role=ANNOTATOR, password="pw-ann-123")
    create_user("bea", role=ANNOTATOR, password="pw-bea-123")
    create_user("root", role=ADMIN, password="pw-root-123")
    # Queued before any worker runs and never sent: a worker that starts picks up queued
    # studies (study.tasks.resume_studies), as after a `make demo` restart.
    study = start_study(world_size="small")
    worker = celery_worker_factory(env={**roots, **FAST_RECOVERY})
    # The worker dies while the English base trains (SIGKILL, no goodbye); the next worker to
    # start takes the training job and the study over by itself, with no requeue.
    base = TrainingJob.objects.filter(name="study-small-english-base", state="running", step__gte=1)
    wait_for(base.exists, timeout=300, what="the English base to train")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    celery_worker_factory(env={**roots, **FAST_RECOVERY})

    def finished():
        study.refresh_from_db()
        return study.state in (Study.State.DONE, Study.State.FAILED)

    wait_for(finished, timeout=600, what="the small study to finish")
    assert study.state == Study.State.DONE, study.message
    assert [s for s in plan.STEPS if study.steps[s]["state"] != "done"] == []

    campaign = Campaign.objects.get(name="study-small-instruct")
    assert campaign.size > 0
    # Graded by the simulated annotators, through the grading services, every item twice.
    graders = set(Assessment.objects.filter(entry__campaign=campaign).values_list("annotator__username", flat=True))
    assert graders == {"simulated-1", "simulated-2"}
    assert Assessment.objects.filter(entry__campaign=campaign, entry__is_control=False).count() >= campaign.size
    # The training data carries the injected errors; the benchmarks do not.
    assert Translation.objects.filter(item__dataset__name="study-small-world-instruct").exclude(injected_error="").exists()
    assert not Translation.objects.filter(item__dataset__name__startswith="study-small-world-pope").exclude(
        injected_error=""
    ).exists()
    assert Snapshot.objects.filter(rule__name__startswith="study-small-", state="done").count() == 3 * 2 + 2
    jobs = TrainingJob.objects.filter(name__startswith="study-small-")
    assert jobs.count() == 1 + 9 and set(jobs.values_list("state", flat=True)) == {"done"}
    variant = jobs.get(name="study-small-variant2-high")
    assert variant.base_job.name == "study-small-english-base"
    assert variant.loss_points.exists()
    runs = EvaluationRun.objects.filter(training_job__name__startswith="study-small-")
    assert runs.count() == 2 * (3 + 9 * 2) and set(runs.values_list("state", flat=True)) == {"done"}
    only = runs.get(pipeline="translation_only", benchmark="pope")
    assert "english" in only.metrics and "french" in only.metrics

    # Re-running reuses every finished step: nothing new is made.
    again = start_study(world_size="small")
    assert again.state == Study.State.DONE and TrainingJob.objects.count() == 10

    page = browser_page
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root-123")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(f"{live_server.url}/study/{study.name}/")
    assert page.inner_text("[data-testid=study-state]") == "done"
    rows = page.eval_on_selector_all("[data-testid=study-table] tbody tr", "rows => rows.map(r => r.dataset.row)")
    expected = {"english_base", "translation_only"} | {f"{v}-{r}" for v in plan.VARIANTS for r in plan.RULES}
    assert set(rows) == expected
