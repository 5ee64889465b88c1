"""Advance a study through its plan, one step at a time, never blocking on a job.

`advance(study)` does the quick steps itself (generate, import, create rows) and hands
the long ones to the jobs that already exist for them (translation jobs, snapshot
builds, training jobs, evaluation runs). When a step waits on jobs it returns, and the
Celery task calls it again a few seconds later, so one worker with concurrency 1 can
run the study and its jobs side by side. Everything a step makes has a deterministic
name (`study-<size>-...`): a second run finds finished objects and reuses them, and a
failed job is requeued rather than duplicated.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from jobs import lifecycle
from training.jobs import recover_stalled_jobs

from . import plan, training_steps
from .models import Study
from .runner import Outcome, Runner, StudyFailed

# A running study whose advance task has not looked at it for this long lost its worker
# (a round writes the heartbeat once, and may run a long quick step: not JOB_STALE_SECONDS).
STALE_SECONDS = 120

# Each step of plan.STEPS: steps 1-5 are the runner's (runner.py), 6-8 training_steps.py's.
STEP_FUNCTIONS: dict[str, Callable[[Runner], Outcome]] = {
    "world": Runner.world,
    "import": Runner.import_,
    "translate": Runner.translate,
    "campaign": Runner.campaign,
    "snapshots": Runner.snapshots,
    "english_base": training_steps.english_base,
    "variants": training_steps.variants,
    "evaluate": training_steps.evaluate,
}


def start_study(*, world_size: str = "full", preset: str = "tiny", engine: str = "apertium", name: str = "") -> Study:
    """The study of that size (created once). When it is (again) QUEUED, the caller
    enqueues `advance`; a done study stays done, a running one keeps its chain."""
    plan.budget(world_size)  # unknown sizes fail here, before anything is stored
    study, _ = Study.objects.get_or_create(
        name=name or f"study-{world_size}", defaults={"world_size": world_size, "preset": preset, "engine": engine}
    )
    stalled = Study.objects.filter(lifecycle.stalled(seconds=STALE_SECONDS), pk=study.pk).exists()
    if study.state == Study.State.FAILED or stalled:
        # Failed: retry (finished steps are kept). Stalled: its worker stopped; start a new chain.
        study.state, study.message, study.finished_at = Study.State.QUEUED, "", None
        study.save(update_fields=["state", "message", "finished_at"])
    return study


def advance(study: Study) -> bool:
    """Run every step that can finish now; True once the whole study is done (or failed)."""
    now = timezone.now()
    if study.state in (Study.State.DONE, Study.State.FAILED):
        return True
    # Claim this round: if another chain advanced the study since we read it, stop ours.
    if not Study.objects.filter(pk=study.pk, heartbeat_at=study.heartbeat_at).update(heartbeat_at=now):
        return True
    if study.state == Study.State.QUEUED:
        study.state, study.started_at = Study.State.RUNNING, now
    study.heartbeat_at = now
    recover_stalled_jobs()  # a job whose worker died mid-study is requeued, not waited on forever
    runner = Runner(study)
    try:
        for step in plan.STEPS:
            if study.steps.get(step, {}).get("state") == "done":
                continue
            study.step = step
            entry = study.steps.setdefault(step, {})
            started = datetime.fromisoformat(entry.setdefault("started", timezone.now().isoformat()))
            outcome = STEP_FUNCTIONS[step](runner)
            # Wall time since the step began, its jobs' time included (not only this task's).
            entry["seconds"] = round((timezone.now() - started).total_seconds(), 1)
            entry.update(state="done" if outcome.done else "running", detail=outcome.detail)
            if not outcome.done:
                study.save()
                return False
        study.state, study.finished_at = Study.State.DONE, timezone.now()
    except Exception as exc:  # the study page shows it; the worker lives on
        tail = "".join(traceback.format_exception(exc)[-3:])
        study.state, study.finished_at = Study.State.FAILED, timezone.now()
        study.message = f"{type(exc).__name__}: {exc}" + ("" if isinstance(exc, StudyFailed) else f"\n\n{tail}")
        study.steps.setdefault(study.step, {})["state"] = "failed"
    study.save()
    return True
