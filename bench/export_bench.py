"""Export benchmark: build + download a high+moderate snapshot of 558,128 items on PostgreSQL.

In one run and on one database:
  1. (once) 558,128 caption items with a French translation each, a campaign entry and a
     final grade (60% high, 25% moderate, 15% low), written with INSERT ... SELECT;
  2. `COPY (<the build's candidate query>) TO STDOUT` of the same rows: the upper bound;
  3. the snapshot build (exports.build.run_build, as the Celery task runs it);
  4. the download over HTTP from gunicorn (1 sync worker) on 127.0.0.1, token auth,
     with the worker's resident memory sampled every 50 ms while it serves.
CPU per item (robust to a loaded machine): this process's during the build, and the
build connection's PostgreSQL backend with its parallel workers (read from /proc, so only
when PostgreSQL runs on this machine). The load average is printed before and after.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relecture_bench_export python bench/export_bench.py
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relecture_bench_export"
N = 558_128


def setup_django(url: str, export_root: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["EXPORT_ROOT"] = str(export_root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def populate(n: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from audit.models import Campaign
    from catalog.models import Dataset

    if Dataset.objects.filter(name="bench-export").exists():
        return
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        dataset = Dataset.objects.create(name="bench-export", kind="train", source_format="llava")
        campaign = Campaign.objects.create(name="bench-export", dataset=dataset, overlap=2, created_by=admin)
        cursor.execute(
            """INSERT INTO audit_item (dataset_id, external_id, image, conversations, task_type, split, meta,
                   source_index, content_hash, created_at, updated_at)
               SELECT %s, lpad(g::text, 9, '0'), '00' || (g %% 660)::text || '/' || g::text || '.jpg',
                   jsonb_build_array(
                     jsonb_build_object('from', 'human', 'value', E'<image>\\nGive a brief description of the image.'),
                     jsonb_build_object('from', 'gpt', 'value', 'a small red circle near the blue square number ' || g)),
                   'caption', '', '{}'::jsonb, g, md5(g::text), now(), now()
               FROM generate_series(0, %s - 1) AS g""",
            [dataset.pk, n],
        )
        cursor.execute(
            """INSERT INTO translation_translation (item_id, target_language, turns, meta, engine, model,
                   prompt_version, prompt_hash, params, seconds, tokens, checks, suggested_grade, created_at)
               SELECT i.id, 'fr', jsonb_build_array(
                     jsonb_build_object('from', 'human', 'value', E'<image>\\nDonnez une brève description de l''image.'),
                     jsonb_build_object('from', 'gpt', 'value', 'un petit cercle rouge près du carré bleu numéro ' || i.source_index)),
                   '{}', 'apertium', '', '', '', '{}', 0, 0, '{}', 'high', now()
               FROM audit_item i WHERE i.dataset_id = %s""",
            [dataset.pk],
        )
        cursor.execute(
            """INSERT INTO audit_entry (campaign_id, translation_id, position, stratum, is_control, control_kind, flagged)
               SELECT %s, t.id, i.source_index, 'caption', false, '', false
               FROM translation_translation t JOIN audit_item i ON i.id = t.item_id WHERE i.dataset_id = %s""",
            [campaign.pk, dataset.pk],
        )
        cursor.execute(
            """INSERT INTO audit_finalgrade (entry_id, grade, source, decided_at)
               SELECT e.id, CASE WHEN e.position %% 20 < 12 THEN 'high' WHEN e.position %% 20 < 17 THEN 'moderate'
                                 ELSE 'low' END, 'consensus', now()
               FROM audit_entry e WHERE e.campaign_id = %s""",
            [campaign.pk],
        )
    with connection.cursor() as cursor:
        for table in ("audit_item", "translation_translation", "audit_entry", "audit_finalgrade"):
            cursor.execute(f"ANALYZE {table}")
    print(f"populated {n} items in {time.perf_counter() - started:.1f} s", flush=True)


def copy_baseline(spec) -> tuple[float, int, int]:
    from django.db import connection, transaction

    from exports.build import candidate_sql

    sql, params = candidate_sql(spec, with_meta=True)
    started = time.perf_counter()
    rows = size = 0
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        raw.execute("SET LOCAL work_mem = '256MB'")
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
            for data in copy:
                size += len(data)
                rows += bytes(data).count(b"\n")
    return time.perf_counter() - started, rows, size


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BuildCpu:
    """CPU seconds while the block runs: this process, and the PostgreSQL backend of Django's
    connection plus the parallel workers it starts (sampled every 20 ms: they exit with their query)."""

    def __enter__(self) -> BuildCpu:
        from django.db import connection

        connection.ensure_connection()
        self.backend = connection.connection.info.backend_pid
        self.workers: dict[int, float] = {}
        self.done = threading.Event()
        self.sampler = threading.Thread(target=self._sample)
        self.sampler.start()
        self._own = resource.getrusage(resource.RUSAGE_SELF)
        self._db = _cpu_seconds(self.backend)
        return self

    def _sample(self) -> None:
        marker = f"parallel worker for PID {self.backend}".encode()
        while not self.done.wait(0.02):
            for name in os.listdir("/proc"):
                try:
                    if name.isdigit() and marker in Path(f"/proc/{name}/cmdline").read_bytes():
                        self.workers[int(name)] = _cpu_seconds(int(name)) or self.workers.get(int(name), 0.0)
                except OSError:
                    continue

    def __exit__(self, *exc) -> None:
        me = resource.getrusage(resource.RUSAGE_SELF)
        self.own = me.ru_utime + me.ru_stime - self._own.ru_utime - self._own.ru_stime
        end = _cpu_seconds(self.backend)
        self.done.set()
        self.sampler.join()
        self.db = None if self._db is None or end is None else end - self._db + sum(self.workers.values())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--items", type=int, default=N)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    export_root = ROOT / "var" / "bench-exports"
    setup_django(args.database_url, export_root)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    populate(args.items)

    import httpx
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from exports.build import create_rule, request_snapshot, rule_spec, run_build
    from exports.models import FilterRule

    rule = FilterRule.objects.filter(name="bench-hm").first() or create_rule(
        "bench-hm", {"min_grade": "moderate", "datasets": ["bench-export"]}
    )
    copy_seconds, copy_rows, copy_bytes = copy_baseline(rule_spec(rule))
    print(f"COPY: {copy_rows} rows, {copy_bytes / 1e6:.0f} MB in {copy_seconds:.2f} s", flush=True)

    load_before = Path("/proc/loadavg").read_text().strip()
    started = time.perf_counter()
    with BuildCpu() as cpu:
        snapshot, _ = request_snapshot(rule, "llava", enqueue=False)
        snapshot = run_build(snapshot.pk)
    build_seconds = time.perf_counter() - started
    assert snapshot.state == "done", snapshot.message
    print(f"build: {snapshot.item_count} items, {snapshot.size_bytes / 1e6:.0f} MB in {build_seconds:.2f} s", flush=True)

    user = User.objects.get(username="bench-admin")
    token, _ = Token.objects.get_or_create(user=user)
    env = {**os.environ, "DATABASE_URL": args.database_url, "EXPORT_ROOT": str(export_root), "DEBUG": "0",
           "SECRET_KEY": "bench-only", "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", "1",
         "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{args.port}/api/v1/snapshots/{snapshot.pk}/download/"
        headers = {"Authorization": f"Token {token.key}"}
        for _ in range(100):
            try:
                httpx.get(url, headers={**headers, "Range": "bytes=0-0"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        pids = [server.pid, *worker_pids(server.pid)]
        peak = {pid: rss_kib(pid) for pid in pids}
        idle = dict(peak)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for pid in pids:
                    peak[pid] = max(peak[pid], rss_kib(pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        received = 0
        with httpx.stream("GET", url, headers=headers, timeout=60) as response:
            assert response.status_code == 200, response.status_code
            for chunk in response.iter_bytes(1 << 20):
                received += len(chunk)
        download_seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        resumed = httpx.get(url, headers={**headers, "Range": f"bytes={received - 1000}-"}, timeout=10)
        assert resumed.status_code == 206 and len(resumed.content) == 1000
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert received == snapshot.size_bytes
    total = build_seconds + download_seconds
    worker = max(peak[p] for p in pids[1:]) if len(pids) > 1 else peak[pids[0]]
    print("\n| figure | value |\n|---|---|")
    print(f"| items in the snapshot (high+moderate of {args.items:,}) | {snapshot.item_count:,} |")
    print(f"| file | {snapshot.size_bytes / 1e6:.0f} MB, sha256 {snapshot.sha256[:12]}… |")
    print(f"| COPY (SELECT …) TO STDOUT of the same {copy_rows:,} candidate rows | {copy_seconds:.2f} s = {copy_rows / copy_seconds:,.0f} rows/s |")
    print(f"| build (query, decide, write, hash) | {build_seconds:.2f} s |")
    print(f"| download over HTTP (gunicorn, 1 sync worker) | {download_seconds:.2f} s |")
    print(f"| build + download (target >= 50,000 items/s) | {total:.2f} s = {snapshot.item_count / total:,.0f} items/s |")
    print(f"| ratio to COPY (target >= 0.3) | {(snapshot.item_count / total) / (copy_rows / copy_seconds):.2f} |")
    print(f"| gunicorn worker RSS idle / peak while serving (target < 300 MB) | {max(idle.values()) / 1024:.0f} / {worker / 1024:.0f} MB |")
    per_item = 1e6 / snapshot.item_count
    db = f"{cpu.db:.2f} s = {cpu.db * per_item:.1f} µs/item" if cpu.db is not None else "not on this machine"
    print(f"| build CPU: this process / PostgreSQL (backend + parallel workers) | {cpu.own:.2f} s = {cpu.own * per_item:.1f} µs/item / {db} |")
    print(f"| load average before the build / after the download | {load_before} / {Path('/proc/loadavg').read_text().strip()} |")


if __name__ == "__main__":
    main()
