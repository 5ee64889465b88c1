"""Celery tasks of the evaluation app, on the `gpu` queue (settings.CELERY_TASK_ROUTES).

Thin by design: the task hands the run's id to its runner, which claims the row, so a
message redelivered after a worker died resumes the run instead of starting it twice.
"""

from __future__ import annotations

from celery import shared_task

from jobs.lifecycle import recover_at_worker_start, run_or_look_again

from .runner import run_evaluation as evaluate

recover_at_worker_start("evaluation runs", "evaluation.services.recover_stalled_runs")


# Sent under the name it had in training: routed to the `gpu` queue with training's tasks,
# and a run queued by a web process of the previous layout still runs on a new worker.
@shared_task(name="training.tasks.run_evaluation", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    run_or_look_again(run_evaluation, evaluate, run_id)
