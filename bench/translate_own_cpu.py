"""The translation job's own CPU per item, with apertium's outputs replayed: no engine beside it.

On two cores apertium keeps both busy, so the job's own Python (reading, planning,
rendering, checks, writes) is what separates the job from the engine-only rate
(translate_bench.py), and CPU seconds measured beside apertium swing with its load.
Here the engine's outputs for N world instruction items are recorded once (a real
apertium pass), then each round runs the job inline in a fresh process (cold caches,
as a fresh worker) with an engine that replays them, and reports the job thread's CPU
per item, the process's, and the cyclic garbage collector's share.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relecture_own python bench/translate_own_cpu.py [--items 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def record(items, path: Path) -> None:
    """Translate the segments the job will send, once, and keep segment -> output."""
    from translation.engines import get_engine
    from translation.structure import ItemSource, engine_segments

    engine = get_engine("apertium")
    table: dict[str, str] = {}
    for offset in range(0, len(items), engine.batch_size):
        batch = [ItemSource(i.conversations, i.meta, i.task_type) for i in items[offset : offset + engine.batch_size]]
        texts = [t for t in engine_segments(batch, engine.max_segment_chars) if t not in table]
        table.update(zip(texts, engine.translate(texts, "en", "fr").outputs))
    path.write_bytes(pickle.dumps(table))


def measure(dataset_name: str, n: int, table_path: Path, default_gc: bool) -> None:
    """One round, in this (fresh) process: the job inline, the engine replaying the table."""
    import django

    django.setup()
    from catalog.models import Dataset
    from translation import services
    from translation.checks import detect_language
    from translation.engines.apertium import ApertiumEngine
    from translation.engines.base import BatchResult
    from translation.models import Translation

    table = pickle.loads(table_path.read_bytes())

    class Replay(ApertiumEngine):
        def _translate_batch(self, texts, source, target):
            return BatchResult([table[text] for text in texts])

    engine = Replay()
    services.get_engine = lambda name, **options: engine
    dataset = Dataset.objects.get(name=dataset_name)
    Translation.objects.filter(item__dataset=dataset).delete()
    detect_language("Une phrase pour charger le modèle.")  # as a worker does when it starts
    if default_gc:
        services.JOB_GC_THRESHOLD = gc.get_threshold()  # Python's own, for comparison
    collecting: list[float] = []  # thread CPU at each start and stop of a collection in this thread
    me = threading.get_ident()
    gc.callbacks.append(lambda phase, info: collecting.append(time.thread_time()) if threading.get_ident() == me else None)
    job = services.create_job(dataset, engine="apertium", limit=n, round_trip=False)
    thread, process, wall = time.thread_time(), time.process_time(), time.perf_counter()
    collecting.clear()
    job = services.run_job(job.pk)
    thread, process, wall = time.thread_time() - thread, time.process_time() - process, time.perf_counter() - wall
    assert job.state == "done" and job.done == n, (job.state, job.done, job.message)
    in_gc = sum(stop - start for start, stop in zip(collecting[::2], collecting[1::2]))
    print(f"  job thread {1000 * thread / n:.4f} ms/item, process {1000 * process / n:.4f} ms/item, "
          f"of which cyclic GC {1000 * in_gc / n:.4f} ms/item ({len(collecting) // 2} collections); wall {wall:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relecture_own"))
    parser.add_argument("--world", help="a generated full world to reuse (default: generate one in a temporary folder)")
    parser.add_argument("--default-gc", action="store_true", help="run the job at Python's default GC thresholds")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one round: the recorded table's path
    args = parser.parse_args()
    if args.measure:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        measure("bench-own", args.items, Path(args.measure), args.default_gc)
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from translate_bench import setup, world_items

    setup(args.database_url, os.environ.get("REDIS_URL", ""))
    with tempfile.TemporaryDirectory() as tmp:
        _, items = world_items(Path(args.world or tmp), args.items, "bench-own")
        table = Path(tmp) / "outputs.pickle"
        record(items, table)
        gc_label = "Python's default GC thresholds" if args.default_gc else "the job's GC thresholds"
        print(f"{len(items):,} items, apertium's outputs replayed, {gc_label}; each round a fresh process "
              f"(load {os.getloadavg()[0]:.1f})")
        for _ in range(args.rounds):
            subprocess.run(
                [sys.executable, __file__, "--items", str(len(items)), "--database-url", args.database_url,
                 "--measure", str(table), *(["--default-gc"] if args.default_gc else [])],
                check=True, cwd=ROOT,
            )  # fmt: skip


if __name__ == "__main__":
    main()
