"""The Cancel and Requeue buttons of every job page (translation jobs, training jobs,
evaluation runs; the buttons themselves: templates/jobs/_actions.html): one set of
rules and messages, each app passing its own cancel and requeue (jobs/lifecycle.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from api.errors import FieldError


def apply_job_action(
    request: HttpRequest,
    job: Any,
    action: str,
    *,
    cancel: Callable[[Any], bool],
    requeue: Callable[[Any], Any],
) -> None:
    """Cancel a queued or running job, or requeue a stopped one; a refusal (a FieldError) becomes a message."""
    noun = job.noun
    if action == "cancel":
        if not cancel(job):
            messages.error(request, f"{noun.capitalize()} {job.pk} is {job.state}; only queued or running {noun}s can be cancelled.")
        return
    try:
        requeue(job)
    except FieldError as exc:
        messages.error(request, exc.message)
