"""Browser grading benchmark: an annotator grades 200 items in chromium, one key every 100 ms.

For each database (the embedded SQLite default, and PostgreSQL), in a scratch var dir (and a
scratch PostgreSQL database) that the script creates and removes:
  1. migrate; make a campaign of N items with 64 px images (5% controls, k=1, one annotator);
  2. start `manage.py runserver` on a free 127.0.0.1 port (it serves grade.js; gunicorn here would not);
  3. in /usr/bin/chromium (Playwright, headless), log in, open the grading page, wait for its
     prefetch queue, then press 1 / 2 / 3 in turn every 100 ms (physical keys, as an annotator does);
  4. report keypress -> next item displayed (the keydown's timestamp to the first animation frame
     after the page shows another item): p50 / p95 / max; the 5xx answers the page saw; the keys
     pressed while no item was on screen; and the grades stored, which must equal the keypresses.

    python bench/browser_grading.py [--database sqlite|postgresql|both] [--keys 200] [--interval-ms 100]
                                    [--items 260] [--pg-url postgres://postgres@127.0.0.1:5432]

A benchmark, not a test: results go to docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-word-1"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

# Installed before grade.js runs. Window capture listeners run before grade.js's document listener.
PROBE = """
window.__bench = { presses: [] };
addEventListener('DOMContentLoaded', () => {
  const grader = document.getElementById('grader');
  addEventListener('keydown', (e) => {
    if (e.repeat) return;
    window.__bench.presses.push({ t: e.timeStamp, label: grader.dataset.label || '', state: grader.dataset.state,
                                  dom: null, shown: null });
  }, true);
  new MutationObserver(() => {
    if (grader.dataset.state !== 'item') return;
    const now = performance.now();
    for (const p of window.__bench.presses) {
      if (p.dom === null && grader.dataset.label !== p.label) {
        p.dom = now;
        requestAnimationFrame(() => { p.shown = performance.now(); });
      }
    }
  }).observe(grader, { attributes: true, attributeFilter: ['data-label', 'data-state'] });
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def make_world(scratch: Path, items: int) -> int:
    """Migrate, then a campaign of ``items`` with images for one annotator; returns the campaign id."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from PIL import Image

    from audit.campaigns import CampaignSpec, create_campaign
    from catalog.models import Dataset, Item
    from translation.models import Translation

    call_command("migrate", verbosity=0)
    images = scratch / "images"
    images.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        Image.new("RGB", (64, 64), colour).save(images / f"img{i}.png")
    dataset = Dataset.objects.create(name="bench-browser", kind="train", source_format="llava", image_root=str(images))
    rows = Item.objects.bulk_create(
        Item(dataset=dataset, external_id=f"bb-{i}", image=f"img{i % 3}.png", task_type="yes_no", source_index=i,
             content_hash=str(i), conversations=[{"from": "human", "value": f"<image>\nIs shape {i} red?"},
                                                 {"from": "gpt", "value": "Yes" if i % 2 else "No, it is blue."}])
        for i in range(items)
    )  # fmt: skip
    Translation.objects.bulk_create(
        Translation(item=item, engine="apertium",
                    turns=[{"from": "human", "value": f"<image>\nLa forme {i} est-elle rouge ?"},
                           {"from": "gpt", "value": "Oui" if i % 2 else "Non, elle est bleue."}])
        for i, item in enumerate(rows)
    )  # fmt: skip
    annotator = User.objects.create_user("bench-ann", password=PASSWORD)
    annotator.groups.add(Group.objects.get(name="annotator"))
    admin = User.objects.create_superuser("bench-admin", password=None)
    spec = CampaignSpec(name="bench-browser", dataset=dataset, annotators=[annotator], overlap=1, control_share=0.05)
    return create_campaign(spec, acting_user=admin).pk


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env,
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"runserver did not answer on port {port}; see {log}")


def grade_in_browser(base: str, campaign: int, keys: int, interval: float) -> dict:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    trips: dict[str, list[float]] = {}

    def finished(request) -> None:  # round trips by endpoint, to tell a slow server from a slow page
        name = request.url.rstrip("/").rsplit("/", 1)[-1]
        if "/api/audit/" in request.url:
            trips.setdefault(name, []).append(request.timing["responseEnd"])
            # request sent -> first byte back: the server's time plus its queue
            timing = request.timing
            trips.setdefault(name + " (server wait)", []).append(timing["responseStart"] - timing["requestStart"])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        page.on("requestfinished", finished)
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", "bench-ann")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.add_init_script(PROBE)
        page.goto(f"{base}/audit/campaigns/{campaign}/grade/")
        page.wait_for_selector("#grader[data-state=item][data-buffered='3']")
        started = time.monotonic()
        for n in range(keys):
            time.sleep(max(0.0, started + n * interval - time.monotonic()))
            page.keyboard.press(("Digit1", "Digit2", "Digit3")[n % 3])
        page.wait_for_function("window.__bench.presses.every(p => p.shown !== null)", timeout=30000)
        presses = page.evaluate("window.__bench.presses")
        browser.close()
    return {"presses": presses, "errors": errors, "seconds": time.monotonic() - started, "trips": trips}


def stored_grades(expected: int, timeout: float = 30.0) -> int:
    from django.db import connection

    from audit.models import Assessment

    deadline = time.monotonic() + timeout
    count = -1
    while time.monotonic() < deadline:
        count = Assessment.objects.filter(annotator__username="bench-ann").count()
        if count >= expected:
            break
        time.sleep(0.5)
    time.sleep(1.0)  # a late duplicate would show now
    count = Assessment.objects.filter(annotator__username="bench-ann").count()
    connection.close()
    return count


def run_one(database: str, args: argparse.Namespace) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="relecture-browser-bench-"))
    env = {**os.environ, "RELECTURE_VAR_DIR": str(scratch / "var"), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)
    db_name = f"relecture_browser_bench_{os.getpid()}"
    if database == "postgresql":
        env["DATABASE_URL"] = f"{args.pg_url}/{db_name}"
        import psycopg

        with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    else:
        env.pop("DATABASE_URL", None)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    server = None
    try:
        campaign = make_world(scratch, args.items)
        from django.db import connection

        connection.close()
        port = free_port()
        server = start_server(env, port, scratch / "server.log")
        result = grade_in_browser(f"http://127.0.0.1:{port}", campaign, args.keys, args.interval_ms / 1000)
        stored = stored_grades(args.keys)
        report(database, args, result, stored)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        if database == "postgresql":
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)


def report(database: str, args: argparse.Namespace, result: dict, stored: int) -> None:
    presses = result["presses"]
    shown = [p["shown"] - p["t"] for p in presses]
    dom = [p["dom"] - p["t"] for p in presses]
    waiting = sum(1 for p in presses if p["state"] != "item")
    print(f"### {database}: {len(presses)} keypresses, one every {args.interval_ms} ms ({result['seconds']:.1f} s)")
    print(f"keypress -> next item displayed (next frame): p50 {statistics.median(shown):.1f} ms, "
          f"p95 {percentile(shown, 0.95):.1f} ms, max {max(shown):.1f} ms")  # fmt: skip
    print(f"keypress -> next item in the DOM: p50 {statistics.median(dom):.1f} ms, p95 {percentile(dom, 0.95):.1f} ms, "
          f"max {max(dom):.1f} ms")  # fmt: skip
    print(f"keys pressed while no item was on screen: {waiting}")
    for name, times in sorted(result["trips"].items()):
        print(f"round trips {name}/: {len(times)}, p50 {statistics.median(times):.1f} ms, "
              f"p95 {percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms")  # fmt: skip
    print(f"server errors (5xx seen by the page): {len(result['errors'])} {result['errors'][:5]}")
    verdict = "OK" if stored == args.keys == len(presses) else "MISMATCH"
    print(f"grades stored: {stored} for {args.keys} keypresses ({verdict})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--items", type=int, default=260, help="campaign size (more than --keys plus prefetch)")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432", help="server URL, no database")
    args = parser.parse_args()
    if args.database != "both":
        run_one(args.database, args)
        return
    for database in ("sqlite", "postgresql"):  # one process each: Django's settings are read once per process
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--database", database], check=True)


if __name__ == "__main__":
    main()
