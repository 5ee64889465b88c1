"""Multi-node training jobs: one Celery task per node, all joining one torchrun rendezvous.

A job with `nodes` > 1 is queued as that many `run_training_node` tasks on the `gpu`
queue; each runs on whichever gpu worker takes it (one worker per machine). Task 0
claims the job (the same conditional update as a one-node job), records the
rendezvous address (`TrainingJob.rendezvous`: this worker's host and a free port) and
starts torchrun; the others wait for that address, then start theirs. torchrun's c10d
rendezvous makes the nodes one job of nodes × gpus_per_node ranks (training/distributed.py);
FSDP2 shards the model over all of them (training/parallelize.py).

Every node writes its own TrainingNode row (worker, host, first rank, step, heartbeat),
which the job page shows. How a job ends:
- done: every node's torchrun exits 0 after global rank 0 marked the job done;
- a node that never arrives: the others' rendezvous times out
  (TRAINING_RENDEZVOUS_TIMEOUT) and the job fails naming the nodes that never joined;
- a node killed mid-job: the other nodes' collectives fail, their torchrun exits, and
  the job fails naming the node that went silent; a requeue (possibly with fewer
  nodes) resumes from the last checkpoint, which DCP reshards to the ranks there are;
- cancel: global rank 0 reads it and every rank stops at the same step (training/loop.py);
  a node still waiting for the rendezvous sees the job end and leaves.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from jobs import lifecycle
from jobs.lifecycle import heartbeat

from .jobs import claim
from .models import TrainingJob, TrainingNode

log = logging.getLogger(__name__)
POLL_S = 1.0  # the node task's heartbeat, and how often it checks the job is still its own
NODE_SILENT_S = 5.0  # a node whose task wrote nothing for this long is taken to be dead
LOG_TAIL_LINES = 25


def rendezvous_address() -> str:
    """host:port other nodes reach this worker at (the port is free now; torchrun binds it next)."""
    host = settings.TRAINING_RENDEZVOUS_HOST or socket.gethostbyname(socket.gethostname())
    port = settings.TRAINING_RENDEZVOUS_PORT
    if not port:
        with socket.socket() as probe:
            probe.bind(("", 0))
            port = probe.getsockname()[1]
    return f"{host}:{port}"


def torchrun_command(job: TrainingJob, index: int) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", f"--nnodes={job.nodes}",
        f"--nproc_per_node={job.gpus_per_node}", "--rdzv_backend=c10d", f"--rdzv_endpoint={job.rendezvous}",
        f"--rdzv_id=job-{job.pk}-{job.attempts}", f"--rdzv_conf=join_timeout={settings.TRAINING_RENDEZVOUS_TIMEOUT}",
        "--max_restarts=0", "-m", "training.distributed", str(job.pk), str(job.attempts), str(index),
    ]  # fmt: skip


def run_node(job_id: int, index: int, *, worker: str = "") -> None:
    """The body of one node's Celery task."""
    job = _claim(job_id) if index == 0 else _await_rendezvous(job_id)
    if job is None:
        return
    node, created = TrainingNode.objects.get_or_create(
        job=job, attempt=job.attempts, index=index,
        defaults={"worker": worker, "host": socket.gethostname(), "state": TrainingNode.State.RUNNING,
                  "heartbeat_at": timezone.now()},
    )  # fmt: skip
    if not created:
        log.info("node %s of training job %s attempt %s already runs elsewhere", index, job_id, job.attempts)
        return
    mine = lambda: lifecycle.this_attempt(job)  # noqa: E731
    with heartbeat(mine, name=f"training-job-{job.pk}-node-{index}"):
        _run_torchrun(job, index, node)


def _run_torchrun(job: TrainingJob, index: int, node: TrainingNode) -> None:
    log_path = Path(settings.MODEL_ROOT) / job.output_dir / f"attempt-{job.attempts}-node-{index}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as output:
        process = subprocess.Popen(torchrun_command(job, index), stdout=output, stderr=subprocess.STDOUT)
        while process.poll() is None:
            time.sleep(POLL_S)
            TrainingNode.objects.filter(pk=node.pk).update(heartbeat_at=timezone.now())
            if not _still_ours(job):  # failed by another node, or requeued: stop our ranks too
                process.terminate()
                process.wait(timeout=60)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
    job.refresh_from_db()
    if process.returncode == 0:
        state = TrainingNode.State.CANCELLED if job.state == TrainingJob.State.CANCELLED else TrainingNode.State.DONE
        TrainingNode.objects.filter(pk=node.pk).update(state=state, heartbeat_at=timezone.now())
        return
    TrainingNode.objects.filter(pk=node.pk).update(state=TrainingNode.State.FAILED, message=tail,
                                                   heartbeat_at=timezone.now())  # fmt: skip
    _fail(job, f"{_what_went_wrong(job, index, process.returncode)}\n\n{tail}")


def _claim(job_id: int) -> TrainingJob | None:
    """Task 0: the job's claim (as a one-node job's) plus the rendezvous address."""
    claimed, job = claim(job_id, rendezvous=rendezvous_address())
    if not claimed:
        log.info("training job %s is %s; node 0 not starting it", job_id, job.state)
        return None
    return job


def _await_rendezvous(job_id: int) -> TrainingJob | None:
    """Tasks 1…: wait for task 0's claim of a new attempt; give up when the job ends or the wait times out."""
    deadline = time.monotonic() + settings.TRAINING_RENDEZVOUS_TIMEOUT
    while time.monotonic() < deadline:
        job = TrainingJob.objects.filter(pk=job_id).first()
        if job is None or job.state in (TrainingJob.State.DONE, TrainingJob.State.FAILED, TrainingJob.State.CANCELLED):
            return None
        taken = TrainingNode.objects.filter(job=job, attempt=job.attempts).values_list("index", flat=True)
        if job.state == TrainingJob.State.RUNNING and job.rendezvous and 0 in taken:
            return job
        time.sleep(POLL_S)
    log.warning("training job %s: no rendezvous within %s s", job_id, settings.TRAINING_RENDEZVOUS_TIMEOUT)
    return None


def _still_ours(job: TrainingJob) -> bool:
    """The attempt this node joined is still running (or being cancelled, which its ranks do themselves)."""
    states = (TrainingJob.State.RUNNING, TrainingJob.State.CANCELLED, TrainingJob.State.DONE)
    return TrainingJob.objects.filter(pk=job.pk, attempts=job.attempts, state__in=states).exists()


def _what_went_wrong(job: TrainingJob, index: int, returncode: int) -> str:
    nodes = TrainingNode.objects.filter(job=job, attempt=job.attempts)
    joined = {node.index: node for node in nodes}
    missing = [i for i in range(job.nodes) if i not in joined]
    if missing:
        names = ", ".join(str(i) for i in missing)
        return (f"node{'s' if len(missing) > 1 else ''} {names} of {job.nodes} never joined within "
                f"{settings.TRAINING_RENDEZVOUS_TIMEOUT} s: no gpu worker ran {'their' if len(missing) > 1 else 'its'} "
                f"task (each machine needs a worker on queue {job.queue!r})")  # fmt: skip
    time.sleep(NODE_SILENT_S)  # a node killed a moment ago still has a fresh heartbeat: let it age
    silent_since = timezone.now() - timedelta(seconds=NODE_SILENT_S - POLL_S)
    silent = [node for node in nodes.all() if node.index != index and node.state == TrainingNode.State.RUNNING
              and (node.heartbeat_at is None or node.heartbeat_at < silent_since)]
    if silent:
        who = ", ".join(f"node {n.index} ({n.worker or n.host})" for n in silent)
        return f"{who} stopped answering; node {index}'s processes lost contact and exited with status {returncode}"
    return f"node {index} ({socket.gethostname()}): torchrun exited with status {returncode}"


def _fail(job: TrainingJob, message: str) -> None:
    lifecycle.finish(job, TrainingJob.State.FAILED, message=message)


def node_heartbeat(job_id: int, attempt: int, index: int, *, step: int | None = None,
                   first_rank: int | None = None) -> None:  # fmt: skip
    """Written by a node's first process (local rank 0) as it trains: the job page's per-node progress."""
    fields: dict = {"heartbeat_at": timezone.now()}
    if step is not None:
        fields["step"] = step
    if first_rank is not None:
        fields["first_rank"] = first_rank
    TrainingNode.objects.filter(job_id=job_id, attempt=attempt, index=index).update(**fields)
