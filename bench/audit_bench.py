"""Audit benchmark: 32 annotator clients over HTTP against gunicorn, 1,000,000 translations in PostgreSQL.

Steps (one run, one database):
  1. fill the database once with N items and one French translation each (COPY / INSERT ... SELECT);
  2. create a campaign over all of them (k=2, 5% controls, 32 annotators) with audit.campaigns.create_campaign;
  3. start gunicorn on a free 127.0.0.1 port; 32 client threads each loop "next item" + "grade" over
     the REST API (token authentication) for a bounded time;
  4. check integrity in SQL: no translation over k, no duplicate (annotator, translation) pair, every
     grade the server accepted (201) is in the database.
Prints a Markdown section; --append-to docs/performance.md appends it.

    python bench/audit_bench.py [--translations 1000000] [--clients 32] [--seconds 30] [--warmup 5] [--rate 150]
                                [--workers 2 --threads 6] [--worker-class gthread|sync] [--prepared] [--endpoint lean|drf] [--reuse-campaign]
                                [--server-root DIR] [--append-to docs/performance.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relecture_audit_bench"
DATASET = "bench-audit"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(n: int) -> None:
    """N items and N translations, written by the database itself (generate_series), once."""
    from django.db import connection

    from catalog.models import Dataset

    dataset, _ = Dataset.objects.get_or_create(name=DATASET, defaults={"kind": "train", "source_format": "llava"})
    have = dataset.items.count()
    if have >= n:
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO audit_item (dataset_id, external_id, image, conversations, task_type, split, meta,
                   source_index, content_hash, created_at, updated_at)
               SELECT %s, lpad(i::text, 9, '0'), '', jsonb_build_array(
                   jsonb_build_object('from', 'human', 'value', '<image>\nIs the shape number ' || i || ' red?'),
                   jsonb_build_object('from', 'gpt', 'value', CASE WHEN i %% 2 = 0 THEN 'Yes' ELSE 'No' END)),
                 (ARRAY['yes_no','caption','reading','multiple_choice'])[1 + i %% 4], '', '{}'::jsonb, i, md5(i::text),
                 now(), now()
               FROM generate_series(%s, %s - 1) AS i""",
            [dataset.pk, have, n],
        )
        cursor.execute(
            """INSERT INTO translation_translation (item_id, target_language, turns, meta, engine, model,
                   prompt_version, prompt_hash, params, seconds, tokens, checks, suggested_grade, created_at)
               SELECT it.id, 'fr', jsonb_build_array(
                   jsonb_build_object('from', 'human', 'value', '<image>\nLa forme numéro ' || it.source_index ||
                                      ' est-elle rouge ?'),
                   jsonb_build_object('from', 'gpt', 'value', CASE WHEN it.source_index %% 2 = 0 THEN 'Oui' ELSE 'Non' END)),
                 '{}'::jsonb, 'apertium', '', '', '', '{}'::jsonb, 0, 0, '{}'::jsonb, '', now()
               FROM audit_item it WHERE it.dataset_id = %s AND it.source_index >= %s""",
            [dataset.pk, have],
        )
        cursor.execute("ANALYZE")
    print(f"filled {n - have} items + translations in {time.perf_counter() - started:.1f} s", flush=True)


def latest_campaign(clients: int, seconds: float):
    """The newest bench campaign, if it still has room for this run (creating one at 1M takes minutes)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from audit.models import Assignment, Campaign

    campaign = Campaign.objects.filter(name__startswith="bench-").order_by("-pk").first()
    if campaign is None or campaign.memberships.count() != clients:
        return None
    if Assignment.objects.filter(campaign=campaign, state="open").count() < 1000 * seconds:  # ample for one run
        return None
    users = User.objects.filter(username__startswith="bench-annotator-").order_by("username")[:clients]
    return campaign, [Token.objects.get_or_create(user=user)[0].key for user in users], 0.0


def make_campaign(clients: int):
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from audit.campaigns import CampaignSpec, create_campaign
    from audit.models import Campaign
    from catalog.models import Dataset

    group = Group.objects.get(name="annotator")
    users = []
    for i in range(clients):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{i:02d}")
        user.groups.add(group)
        users.append(user)
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    name = f"bench-{int(time.time())}"
    started = time.perf_counter()
    campaign = create_campaign(
        CampaignSpec(name=name, dataset=Dataset.objects.get(name=DATASET), annotators=users, overlap=2,
                     control_share=0.05),  # fmt: skip
        acting_user=admin,
    )
    seconds = time.perf_counter() - started
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_assignment")
        cursor.execute("ANALYZE audit_entry")
    tokens = [Token.objects.get_or_create(user=user)[0].key for user in users]
    return Campaign.objects.get(pk=campaign.pk), tokens, seconds


def analyze_if_no_autovacuum() -> bool:
    """ANALYZE audit_assignment when the server's autovacuum is off, as autovacuum would have done.

    Production analyzes it every 20,000 slot updates (migration 0006); without that the
    statistics keep "no slot has an annotator" from the campaign's creation and the
    held-lease read grows with the campaign (docs/performance.md).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return False
        cursor.execute("ANALYZE audit_assignment")
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and workers)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    return _cpu_of(root) + sum(_cpu_of(pid) for pid, parent in parents.items() if parent == root)


def settled_cpu(root: int) -> float:
    """tree_cpu once the workers have booted (their imports are not the requests' cost)."""
    before = tree_cpu(root)
    for _ in range(30):
        time.sleep(0.5)
        now = tree_cpu(root)
        if now - before < 0.05:
            return now
        before = now
    return before


def backends_cpu(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving the bench database, ours aside.

    gunicorn keeps its connections for the whole run (DB_CONN_MAX_AGE), so read at the end
    of the run this is the database's share of the work.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]  # fmt: skip
    return sum(_cpu_of(pid) for pid in pids)


def start_gunicorn(url: str, port: int, workers: int, threads: int, root: Path = ROOT,
                   worker_class: str = "gthread") -> subprocess.Popen:  # fmt: skip
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": "bench-only-not-secret",
           "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", "DB_CONN_MAX_AGE": "600"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "-k", worker_class, "--keep-alive", "30", "--log-level", "warning"]
        # gunicorn turns sync into gthread when threads > 1
        + (["--threads", str(threads)] if worker_class == "gthread" else []),
        cwd=root, env=env,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: dict) -> tuple[int, dict | None, float]:
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request("POST", path, json.dumps(body), self.headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        elapsed = time.perf_counter() - started
        return response.status, (json.loads(data) if data else None), elapsed


def run_clients(port: int, campaign_id: int, tokens: list[str], seconds: float, combined: bool,
                rate: float | None = None, grade_path: str = "grade-next", warmup: float = 0.0,
                meter: Callable[[], tuple[float, float]] = lambda: (0.0, 0.0)) -> dict:  # fmt: skip
    """Each client loops next + grade for ``warmup`` + ``seconds``; only the last ``seconds`` are measured.

    Without ``rate`` the clients never pause (closed loop): the figure is the saturation
    throughput, and by Little's law the mean latency is then clients / throughput. With
    ``rate`` (graded items/s over all clients) each client grades on a fixed schedule,
    like annotators who read before they click; a client that falls behind sends at once.

    The warm-up is the server's cold start: each gunicorn thread opens its PostgreSQL
    connection and prepares its statements on its first requests, which took 1.4-1.9 s
    for the first request of each of 32 clients (docs/performance.md). Requests that
    start during it are not in the latencies nor in the measured grades, and ``meter``
    (CPU seconds of the server and of the database so far) is read when it ends; every
    grade accepted, warm-up included, goes to the integrity checks ("accepted").
    """
    latencies: list[float] = []
    warmup_latencies: list[float] = []
    accepted: list[int] = []
    measured: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    measure_from = time.perf_counter() + warmup
    deadline = measure_from + seconds
    grades = ("high", "high", "moderate", "low")
    period = len(tokens) / rate if rate else 0.0

    def annotate(index: int) -> None:
        client = Client(port, tokens[index])
        mine_lat, mine_warm, mine_ok, n, mine_measured = [], [], [], 0, 0
        item = None
        due = time.perf_counter() + period * index / len(tokens)  # spread the clients' phases
        while time.perf_counter() < deadline:
            if period:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += period
            into = mine_lat if time.perf_counter() >= measure_from else mine_warm
            if item is None:  # "separate" flow, or the first item of the "combined" one
                status, body, t1 = client.post(f"/api/audit/campaigns/{campaign_id}/next/", {})
                into.append(t1)
                if status != 200:
                    errors.append(f"next {status}")
                    break
                item = body["item"]
            status, body, t2 = client.post(
                f"/api/audit/assignments/{item['assignment']}/{grade_path}/",
                {"grade": grades[(index + n) % 4], "seconds": 1.0, "next": combined},
            )
            into.append(t2)
            n += 1
            item = body.get("next") if (combined and status == 201) else None
            if status == 201:
                mine_ok.append(body["assessment"])
                mine_measured += into is mine_lat
            else:
                errors.append(f"grade {status} {body}")
        with lock:
            latencies.extend(mine_lat)
            warmup_latencies.extend(mine_warm)
            accepted.extend(mine_ok)
            measured.append(mine_measured)

    threads = [threading.Thread(target=annotate, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    started, cpu, (server_cpu, database_cpu) = time.perf_counter(), time.process_time(), meter()
    for thread in threads:
        thread.join()
    server_end, database_end = meter()
    return {"elapsed": time.perf_counter() - started, "latencies": latencies, "warmup_latencies": warmup_latencies,
            "accepted": accepted, "graded": sum(measured), "errors": errors, "client_cpu": time.process_time() - cpu,
            "server_cpu": server_end - server_cpu, "database_cpu": database_end - database_cpu}  # fmt: skip


def integrity(campaign, accepted: list[int]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (SELECT a.entry_id FROM audit_assessment a JOIN audit_entry e ON e.id = a.entry_id
               WHERE e.campaign_id = %s AND NOT e.is_control GROUP BY a.entry_id HAVING count(*) > %s) over_k""",
            [campaign.pk, campaign.overlap],
        )
        over_k = cursor.fetchone()[0]
        cursor.execute(
            """SELECT count(*) FROM (SELECT e.translation_id, a.annotator_id FROM audit_assessment a
               JOIN audit_entry e ON e.id = a.entry_id WHERE e.campaign_id = %s AND NOT e.is_control
               GROUP BY e.translation_id, a.annotator_id HAVING count(*) > 1) dup""",
            [campaign.pk],
        )
        duplicates = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM audit_assessment WHERE id = ANY(%s)", [accepted]
        )
        stored = cursor.fetchone()[0]
    return {"over_k": over_k, "duplicate_pairs": duplicates, "accepted": len(accepted), "accepted_stored": stored}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--translations", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time, after the warm-up")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of load before measuring (the server's cold start; reported apart)")
    # One process per core, threads to cover the waits on PostgreSQL: 2x6 beat 3x4 in every
    # back-to-back pair on the 2-core machine (docs/performance.md).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=6, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"],
                        help="gunicorn worker class (sync: one request at a time per process, no keep-alive)")
    parser.add_argument("--rate", type=float, help="pace the clients to this many graded items/s in all"
                        " (default: no pause, the saturation throughput)")  # fmt: skip
    parser.add_argument("--prepared", action="store_true", help="server-side binding + prepared statements"
                        " (DATABASE_URL options server_side_binding, prepare_threshold) for gunicorn")  # fmt: skip
    parser.add_argument("--append-to", type=Path)
    parser.add_argument("--endpoint", choices=["lean", "drf"], default="lean",
                        help="lean: POST .../grade-next/ (what the grading page uses); drf: POST .../grade/")
    parser.add_argument("--reuse-campaign", action="store_true",
                        help="grade in the newest bench campaign if it has room (skips minutes of campaign creation)")
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="serve another checkout of the project (e.g. the commit before a change) for a before/after")
    parser.add_argument(
        "--flow", choices=["combined", "separate"], default="combined",
        help="combined: POST grade with next=true returns the next item (what the grading page does);"
        " separate: POST next, then POST grade",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres://postgres@127.0.0.1"):
        sys.exit("the benchmark only runs against PostgreSQL on 127.0.0.1")
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fill(args.translations)
    reused = latest_campaign(args.clients, args.seconds) if args.reuse_campaign else None
    campaign, tokens, create_seconds = reused or make_campaign(args.clients)
    print(f"campaign {campaign.name}: {campaign.size} translations, created in {create_seconds:.1f} s", flush=True)
    analyzed = analyze_if_no_autovacuum()
    port = free_port()
    server_url = args.database_url + ("?server_side_binding=true&prepare_threshold=2" if args.prepared else "")
    server = start_gunicorn(server_url, port, args.workers, args.threads, args.server_root.resolve(), args.worker_class)
    settled_cpu(server.pid)
    load_before = os.getloadavg()
    try:
        result = run_clients(port, campaign.pk, tokens, args.seconds, args.flow == "combined", args.rate,
                             "grade-next" if args.endpoint == "lean" else "grade", args.warmup,
                             lambda: (tree_cpu(server.pid), backends_cpu(args.database_url)))  # fmt: skip
    finally:
        load_after = os.getloadavg()
        server.terminate()
        server.wait(30)
    checks = integrity(campaign, result["accepted"])
    lat = [x * 1000 for x in result["latencies"]]
    warm = [x * 1000 for x in result["warmup_latencies"]]
    rate = result["graded"] / result["elapsed"]
    per = max(result["graded"], 1) / 1000  # CPU seconds / per -> ms per graded item
    server_cpu, database_cpu = result["server_cpu"], result["database_cpu"]
    nproc = os.cpu_count()
    flow = (f"POST {'grade-next' if args.endpoint == 'lean' else 'grade'} with next=true (grade + next item in one"
            " round trip, as the grading page)"
            if args.flow == "combined" else "POST next + POST grade")  # fmt: skip
    pacing = f"paced to {args.rate:g} graded items/s in all" if args.rate else "without pause (saturation)"
    command = (f"python bench/audit_bench.py --translations {args.translations} --clients {args.clients} "
               f"--seconds {args.seconds:g} --warmup {args.warmup:g} --workers {args.workers} --threads {args.threads} "
               f"--worker-class {args.worker_class} --flow {args.flow}"
               + (f" --rate {args.rate:g}" if args.rate else "") + (" --prepared" if args.prepared else "")
               + f" --endpoint {args.endpoint}" + (" --reuse-campaign" if reused else "")
               + (f" --server-root {args.server_root}" if args.server_root.resolve() != ROOT else ""))  # fmt: skip
    lines = [
        "",
        f"## Audit: next item + grade over HTTP ({time.strftime('%Y-%m-%d')})",
        "",
        f"`{command}`: {campaign.size:,} translations in PostgreSQL, campaign "
        f"k={campaign.overlap} with {campaign.control_share:.0%} controls "
        f"{'reused from an earlier run' if reused else f'created in {create_seconds:.1f} s'}"
        f"{' (audit_assignment analyzed first: autovacuum is off)' if analyzed else ''}; gunicorn "
        f"({args.workers} {args.worker_class} workers x {args.threads} threads) on 127.0.0.1; {args.clients} client threads "
        f"(token auth, keep-alive) each looping {flow}, {pacing}; {nproc} CPU cores shared by server, database "
        f"and clients.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| graded items/s (target >= 150) | {rate:.0f} |",
        f"| requests | {len(lat)} in {result['elapsed']:.1f} s, after {len(warm)} in a {args.warmup:g} s warm-up |",
        f"| load average (1 min) before / after the run | {load_before[0]:.2f} / {load_after[0]:.2f} |",
        f"| CPU: gunicorn / bench clients (cores busy) | {server_cpu / result['elapsed']:.2f} / "
        f"{result['client_cpu'] / result['elapsed']:.2f} |",
        f"| CPU per graded item: gunicorn / PostgreSQL backends / bench clients | "
        f"{server_cpu / per:.1f} / {database_cpu / per:.1f} / {result['client_cpu'] / per:.1f} ms |",
        f"| latency per request p50 / p95 / p99 (target p95 <= 100 ms) | {statistics.median(lat):.1f} / "
        f"{percentile(lat, 0.95):.1f} / {percentile(lat, 0.99):.1f} ms |",
        f"| warm-up (cold start) latency p50 / p95 / max | " + (f"{statistics.median(warm):.1f} / "
        f"{percentile(warm, 0.95):.1f} / {max(warm):.1f} ms |" if warm else "none |"),
        f"| translations over k | {checks['over_k']} |",
        f"| duplicate (annotator, translation) pairs | {checks['duplicate_pairs']} |",
        f"| accepted grades (201, warm-up included) / found in the database | {checks['accepted']} / {checks['accepted_stored']} |",
        f"| client errors | {len(result['errors'])} {result['errors'][:3] if result['errors'] else ''} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append_to:
        with args.append_to.open("a") as out:
            out.write(text)


if __name__ == "__main__":
    main()
