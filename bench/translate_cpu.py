"""CPU accounting of a translation job: what the job costs beyond the engine, per item.

Wall clock says little on a shared machine; CPU seconds do. For N world instruction
items (apertium, no round trip) this runs, in one process:

  engine only: the distinct segments the job sends, in its batch size, through apertium;
  job:         the same items through `run_job` inline (structure, checks, writes, progress).

and reports, for each, this process's CPU (`getrusage(RUSAGE_SELF)`: Python, including
the engine's relay threads), apertium's CPU (`RUSAGE_CHILDREN`: its subprocesses), and
the PostgreSQL backend's CPU (from /proc/<backend pid>/stat). The job's own CPU is the
job's self + backend CPU minus the engine-only self CPU. For the job it also prints how
long none, one, or two or more engine calls ran at once (apertium runs two). `--profile`
adds a cProfile of the job's run (top functions by own time).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relecture_cpu python bench/translate_cpu.py [--items 4096]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")  # PostgreSQL on another machine: not measurable here
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU seconds spent between start and stop: self, children, database backend."""

    def __enter__(self) -> Meter:
        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._db = _backend_cpu()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self.started
        self.own = me.ru_utime + me.ru_stime - self._self.ru_utime - self._self.ru_stime
        self.children = (
            children.ru_utime + children.ru_stime - self._children.ru_utime - self._children.ru_stime
        )
        self.db = _backend_cpu() - self._db


def _record_engine_calls() -> list[tuple[float, float]]:
    """(start, end) of every engine call the job makes from now on."""
    from translation import services

    calls: list[tuple[float, float]] = []
    work = services._engine_work

    def timed(*args):
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            calls.append((started, time.perf_counter()))

    services._engine_work = timed
    return calls


def _occupancy(calls: list[tuple[float, float]], start: float, end: float) -> dict[str, float]:
    """Seconds during which none, one, two or more engine calls ran, between start and end."""
    labels = ("none", "one", "two or more")
    events = sorted([(a, 1) for a, _ in calls] + [(b, -1) for _, b in calls])
    seconds = dict.fromkeys(labels, 0.0)
    running, last = 0, start
    for moment, change in [*events, (end, 0)]:
        seconds[labels[min(running, 2)]] += moment - last
        running, last = running + change, moment
    return seconds


def engine_only(items) -> None:
    from translation.engines import get_engine
    from translation.structure import ItemSource, engine_segments

    engine = get_engine("apertium")
    for offset in range(0, len(items), engine.batch_size):
        chunk = items[offset : offset + engine.batch_size]
        batch = [ItemSource(i.conversations, i.meta, i.task_type) for i in chunk]
        engine.translate(engine_segments(batch, engine.max_segment_chars), "en", "fr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=4096)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relecture_cpu"))
    parser.add_argument("--world", help="a generated full world to reuse (default: generate one in a temporary folder)")
    parser.add_argument("--profile", action="store_true", help="cProfile the job and print the top functions")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    from translate_bench import setup, world_items

    setup(args.database_url, os.environ.get("REDIS_URL", ""))
    from translation.checks import detect_language
    from translation.models import Translation
    from translation.services import create_job, run_job

    with tempfile.TemporaryDirectory() as tmp:
        dataset, items = world_items(Path(args.world or tmp), args.items, "bench-instruct")
    n = len(items)
    detect_language("Une phrase pour charger le modèle.")  # as a worker does when it starts

    with Meter() as engine:
        engine_only(items)
    job = create_job(dataset, engine="apertium", limit=n, round_trip=False)
    calls = _record_engine_calls()
    profile = cProfile.Profile() if args.profile else None
    with Meter() as run:
        if profile:
            profile.enable()
        job = run_job(job.pk)
        if profile:
            profile.disable()
    assert job.state == "done" and job.done == n == Translation.objects.count(), (job.state, job.done, job.message)

    def ms(seconds: float) -> str:
        return f"{1000 * seconds / n:6.3f} ms/item"

    print(f"{n:,} items; load average {os.getloadavg()[0]:.1f}")
    print(f"engine only: wall {engine.wall:6.1f} s  self {ms(engine.own)}  apertium {ms(engine.children)}")
    print(f"job:         wall {run.wall:6.1f} s  self {ms(run.own)}  apertium {ms(run.children)}  postgres {ms(run.db)}")
    print(f"job's own CPU (self - engine self + postgres): {ms(run.own - engine.own + run.db)}")
    occupancy = _occupancy(calls, run.started, run.started + run.wall)
    print(
        "job's engine calls running at once: " + ", ".join(f"{k} {v:.2f} s" for k, v in occupancy.items())
        + f"; the calls took {sum(end - start for start, end in calls):.2f} s in all"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
