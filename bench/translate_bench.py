"""Translation benchmark: apertium on N world instruction items, engine-only vs the whole job.

  engine-only: the distinct segments the job would send (translation.structure.engine_segments,
               cut before the clock starts), translated in the job's batch size with the
               apertium engine, as many batches at once as the job runs
               (Engine.concurrent_batches), nothing else;
  job:         the same items through a queued TranslationJob on a real Celery worker
               (Redis broker, PostgreSQL): structure protection, checks (no round trip),
               writes and progress; timed from enqueue to state "done".
  job + round trip: the same, with the back translation and its chrF check (the default).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relecture_bench REDIS_URL=redis://127.0.0.1:6379/13 \
        python bench/translate_bench.py [--items 10000] [--engine-only]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = url, redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    db, admin = url.rsplit("/", 1)[1], url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True, capture_output=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {db}"], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def world_items(world: Path, n: int, name: str):
    """The first `n` instruction items of a full world, imported as dataset `name`; the world
    is generated into `world` unless it holds one already. Returns (dataset, items)."""
    from catalog.models import Item
    from catalog.services import import_dataset
    from world.generator import generate_world

    if not (world / "manifest.json").exists():
        generate_world(world, seed=1, size="full")
    dataset = import_dataset(world / "llava/llava_instruct.json", format="llava", name=name).dataset
    return dataset, list(Item.objects.filter(dataset=dataset).order_by("source_index")[:n])


def engine_only(items) -> tuple[float, int]:
    from translation.engines import get_engine
    from translation.structure import ItemSource, engine_segments

    engine = get_engine("apertium")
    size = engine.batch_size  # the job's batch size
    # Cutting items into segments is the job's work (structure protection), not the engine's:
    # it is done before the clock starts.
    batches = [
        engine_segments([ItemSource(i.conversations, i.meta, i.task_type) for i in items[offset : offset + size]],
                        engine.max_segment_chars)
        for offset in range(0, len(items), size)
    ]  # fmt: skip
    started = time.perf_counter()
    # As many batches in the engine at once as the job runs (Engine.concurrent_batches), so
    # the ratio compares the job with the engine at its own best, not with a slower use of it.
    with ThreadPoolExecutor(max_workers=engine.concurrent_batches) as pool:
        list(pool.map(lambda texts: engine.translate(texts, "en", "fr"), batches))
    engine.close()  # as a job does when it ends
    return time.perf_counter() - started, sum(len(texts) for texts in batches)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _wait_until_ready(dataset, timeout: float = 120.0) -> None:
    """Until the worker has run a one-item job: its pool process is up and warm.

    A ping is not enough: the worker's main process answers it while the pool process
    may still be loading langid's model (`translation.tasks.warm_up`); a job enqueued
    then waited 1-3 s for it on a loaded 2-core machine, which is worker start-up, not
    the pipeline's cost. The one-item job also does the pool process's first imports
    (services, checks, the engine), as any long-lived worker has done before its next job.
    """
    from config.celery import app
    from translation.models import Translation, TranslationJob
    from translation.services import create_job, enqueue

    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not answer a ping within {timeout:.0f} s")
    warm_up = create_job(dataset, engine="apertium", limit=1, round_trip=False)
    enqueue(warm_up)
    while TranslationJob.objects.get(pk=warm_up.pk).state in TranslationJob.ACTIVE_STATES:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not finish a one-item job within {timeout:.0f} s")
        time.sleep(0.05)
    warm_up.refresh_from_db()
    assert warm_up.state == "done", (warm_up.state, warm_up.message)
    Translation.objects.filter(item__dataset=dataset).delete()


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live children and the children they have reaped
    (a Celery worker: main process, pool process, and the apertium pipelines it ran)."""
    total = 0.0
    for proc in [pid, *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def queued_job(dataset, n: int, round_trip: bool) -> tuple[float, float]:
    """Seconds from enqueue to done, and the CPU seconds of the worker's process tree
    (worker, pool process, apertium) over the same span: from enqueue to done."""
    from django.utils import timezone

    from translation.models import Translation, TranslationJob
    from translation.services import create_job, enqueue

    Translation.objects.filter(item__dataset=dataset).delete()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default", "--concurrency", "1",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until_ready(dataset)  # worker start-up (Django, langid's model) is not the pipeline's cost
        job = create_job(dataset, engine="apertium", limit=n, round_trip=round_trip)
        cpu = _tree_cpu(worker.pid)
        started, enqueued = time.perf_counter(), timezone.now()
        enqueue(job)
        while TranslationJob.objects.get(pk=job.pk).state in TranslationJob.ACTIVE_STATES:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        cpu = _tree_cpu(worker.pid) - cpu
    finally:
        worker.terminate()  # the main process's warm shutdown stops its pool process cleanly
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # anything of its left behind
        worker.wait()
    job.refresh_from_db()
    assert job.state == "done" and job.done == n, (job.state, job.done, job.message)
    waited = (job.started_at - enqueued).total_seconds()
    print(f"job: {seconds:.1f} s, of which {waited:.2f} s before a worker claimed it and "
          f"{job.engine_seconds:.1f} s in engine calls (summed over the engine threads)")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relecture_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--skip-round-trip", action="store_true")
    parser.add_argument("--engine-only", action="store_true", help="time the engine alone: no worker, no job")
    parser.add_argument("--rounds", type=int, default=3,
                        help="engine-only / job pairs, interleaved; the ratio is of their total times "
                             "(one pair swings by +-0.08 on this shared VM)")
    args = parser.parse_args()
    setup(args.database_url, args.redis_url)

    with tempfile.TemporaryDirectory() as tmp:
        dataset, items = world_items(Path(tmp), args.items, "bench-instruct")
        n = len(items)
        engine_total = job_total = 0.0
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}: load before the engine-only run: {_load()}")
            cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
            engine_s, segments = engine_only(items)
            engine_cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
            print(f"load after it / before the job: {_load()}")
            if args.engine_only:
                print(f"  engine only {engine_s:5.1f} s ({1000 * engine_cpu / n:.2f} ms CPU/item)")
                engine_total += engine_s
                continue
            job_s, job_cpu = queued_job(dataset, n, round_trip=False)
            print(f"load after the job: {_load()}")
            print(f"  engine only {engine_s:5.1f} s ({1000 * engine_cpu / n:.2f} ms CPU/item), "
                  f"job {job_s:5.1f} s ({1000 * job_cpu / n:.2f} ms CPU/item, worker tree): "
                  f"{engine_s / job_s:.2f}x")
            engine_total, job_total = engine_total + engine_s, job_total + job_s
        print(f"{n:,} items, {segments:,} engine segments, {args.rounds} rounds")
        print(f"engine only:       {engine_total:6.1f} s  {args.rounds * n / engine_total:7.1f} items/s")
        if args.engine_only:
            return
        print(
            f"job (no round trip): {job_total:6.1f} s  {args.rounds * n / job_total:7.1f} items/s"
            f" = {engine_total / job_total:.2f}x engine-only"
        )
        if not args.skip_round_trip:
            full_s, _ = queued_job(dataset, n, round_trip=True)
            print(f"job + round trip:  {full_s:6.1f} s  {n / full_s:7.1f} items/s")


if __name__ == "__main__":
    main()
