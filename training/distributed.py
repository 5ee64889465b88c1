"""One process of a multi-GPU training job, started by `torchrun` (training/job_runner.py).

    python -m torch.distributed.run --standalone --nproc_per_node N -m training.distributed JOB_ID ATTEMPT
    python -m torch.distributed.run --nnodes M --rdzv_backend c10d ... -m training.distributed JOB_ID ATTEMPT NODE
      (one node of a multi-node job: training/nodes.py)

Every process builds the same starting model (fixed seeds), which training.loop shards
with FSDP2 (training/parallelize.py), and trains its share of each batch; every rank
writes its shards of a checkpoint (training/checkpoint.py); rank 0 alone writes
progress, loss points and the final model, exactly as a one-GPU job does. NCCL on
GPUs; gloo on CPUs when settings.TRAINING_DISTRIBUTED_CPU is on (tests, dry runs).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import torch
    from django.conf import settings

    from training.job_runner import _run_stages
    from training.models import TrainingJob

    job_id, attempt = int(argv[0]), int(argv[1])
    node = int(argv[2]) if len(argv) > 2 else None
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        backend, device = "nccl", f"cuda:{local_rank}"
    elif settings.TRAINING_DISTRIBUTED_CPU:
        backend, device = "gloo", "cpu"
    else:
        print(f"training job {job_id}: no CUDA device for a multi-GPU job", file=sys.stderr)
        return 2
    torch.distributed.init_process_group(backend=backend)
    try:
        job = TrainingJob.objects.get(pk=job_id)
        if job.attempts != attempt or job.state != TrainingJob.State.RUNNING:
            return 0  # another worker took the job over
        reporting_node = node if node is not None and local_rank == 0 else None
        if reporting_node is not None:
            from training.nodes import node_heartbeat

            node_heartbeat(job_id, attempt, reporting_node, first_rank=rank)
        _run_stages(job, rank=rank, device=device, node=reporting_node)
    finally:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
