"""What slows apertium beside a job: the GIL, or CPU? Engine-only runs beside a duty-cycled helper.

The job's thread (planning, rendering, checks, COPY writes) holds the GIL while apertium's
relay thread (translation/engines/apertium.py: `_relay`, between eng-spa and es-fr) needs
it. To tell GIL latency from CPU competition, the same engine-only work (the distinct
segments of N world instruction items, in the job's batch size) runs:

  alone: nothing beside it;
  gil:   beside a thread that holds the GIL without using CPU (`usleep` called through
         `ctypes.PyDLL`, which keeps the GIL, 2 ms a call: a waiting thread gets it at
         the switch interval, as from a busy Python thread);
  cpu:   beside a separate process spinning (CPU, no shared GIL);
  both:  beside a thread spinning in Python (CPU and GIL, like the job's thread).

The helper is busy `--burst` seconds then idle `--idle` seconds (default 0.1 / 0.3: about
the job's share of the engine's time). Modes are interleaved per round; the ratios are of
total times.

    python bench/apertium_contention.py [--items 10000] [--rounds 4] [--burst 0.1 --idle 0.3]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("alone", "gil", "cpu", "both")


def world_batches(n: int, size: int, max_segment_chars: int) -> list[list[str]]:
    """The distinct engine segments of the first n world instruction items, per job batch."""
    from catalog.importers.llava import task_type
    from translation.structure import ItemSource, engine_segments
    from world.generator import generate_world

    with tempfile.TemporaryDirectory() as tmp:
        generate_world(tmp, seed=1, size="full")
        records = json.loads((Path(tmp) / "llava/llava_instruct.json").read_text())[:n]
    sources = [ItemSource(r["conversations"], {}, task_type(r["id"], r["conversations"])) for r in records]
    return [engine_segments(sources[i : i + size], max_segment_chars) for i in range(0, len(sources), size)]


def _hold_gil(stop, burst: float, idle: float) -> None:
    usleep = ctypes.PyDLL(None).usleep  # PyDLL: the GIL stays held during the call
    while not stop.is_set():
        started = time.perf_counter()
        while time.perf_counter() - started < burst:
            usleep(2000)
        time.sleep(idle)


def _spin(stop, burst: float, idle: float) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        while time.perf_counter() - started < burst:
            sum(range(300))
        time.sleep(idle)


def timed(engine, batches: list[list[str]], mode: str, burst: float, idle: float) -> float:
    stop = multiprocessing.Event() if mode == "cpu" else threading.Event()
    helper: threading.Thread | multiprocessing.Process | None = None
    if mode == "gil":
        helper = threading.Thread(target=_hold_gil, args=(stop, burst, idle), daemon=True)
    elif mode == "both":
        helper = threading.Thread(target=_spin, args=(stop, burst, idle), daemon=True)
    elif mode == "cpu":
        helper = multiprocessing.Process(target=_spin, args=(stop, burst, idle))
    if helper:
        helper.start()
    started = time.perf_counter()
    for batch in batches:
        engine.translate(batch, "en", "fr")
    seconds = time.perf_counter() - started
    stop.set()
    if helper:
        helper.join()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--burst", type=float, default=0.1, help="seconds the helper is busy")
    parser.add_argument("--idle", type=float, default=0.3, help="seconds the helper then sleeps")
    parser.add_argument("--modes", default=",".join(MODES), help=f"a subset of {','.join(MODES)}")
    args = parser.parse_args()
    from translation.engines.apertium import ApertiumEngine

    engine = ApertiumEngine()
    batches = world_batches(args.items, engine.batch_size, engine.max_segment_chars)
    modes = args.modes.split(",")
    totals = dict.fromkeys(modes, 0.0)
    for round_ in range(1, args.rounds + 1):
        times = {mode: timed(engine, batches, mode, args.burst, args.idle) for mode in modes}
        for mode, seconds in times.items():
            totals[mode] += seconds
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"round {round_}: " + ", ".join(f"{m} {s:5.2f} s" for m, s in times.items()) + f" (load {load})")
    base = totals[modes[0]]
    print(f"{args.items:,} items, {sum(map(len, batches)):,} segments in {len(batches)} batches; "
          f"helper {args.burst:g} s busy / {args.idle:g} s idle")
    print("totals: " + ", ".join(f"{m} {s:.1f} s ({base / s:.2f}x {modes[0]})" for m, s in totals.items()))


if __name__ == "__main__":
    main()
