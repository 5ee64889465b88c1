"""One annotator grading serially through Django's test client: wall and CPU per request, per statement.

Runs against the audit benchmark's database (bench/audit_bench.py fills it) with DEBUG off;
no HTTP server, so the figure is Django's own CPU for one grade + next item.

    python bench/audit_profile.py [--endpoint grade-next|grade] [--requests 200] [--statements] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relecture_audit_bench"))  # fmt: skip
    parser.add_argument("--endpoint", choices=["grade-next", "grade"], default="grade-next")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--annotator", default="bench-annotator-31")
    parser.add_argument("--statements", action="store_true", help="mean time of each SQL statement")
    parser.add_argument("--profile", action="store_true", help="cProfile of CPU time (waits on PostgreSQL excluded), sorted by own time")
    args = parser.parse_args()
    os.environ.update(DATABASE_URL=args.database_url, DEBUG="0", SECRET_KEY="bench-only-not-secret",
                      ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="config.settings", DB_CONN_MAX_AGE="600",
                      LOG_LEVEL="ERROR")  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from audit.models import Campaign

    campaign = Campaign.objects.filter(name__startswith="bench-").order_by("-pk").first()
    user = User.objects.get(username=args.annotator)
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    item = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, content_type="application/json").json()["item"]

    def one() -> None:
        nonlocal item
        response = client.post(f"/api/audit/assignments/{item['assignment']}/{args.endpoint}/",
                               {"grade": "high", "seconds": 1.0, "next": True}, content_type="application/json")  # fmt: skip
        assert response.status_code == 201, response.content
        item = response.json()["next"]

    for _ in range(10):  # warm: imports, URL resolver, prepared statements
        one()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        one()
    n = args.requests
    print(f"{args.endpoint}: wall {(time.perf_counter() - wall) / n * 1000:.2f} ms, "
          f"CPU {(time.process_time() - cpu) / n * 1000:.2f} ms per request (load {os.getloadavg()[0]:.2f})")  # fmt: skip
    if args.statements:
        spent: dict[str, float] = defaultdict(float)
        for _ in range(50):
            with CaptureQueriesContext(connection) as queries:
                one()
            for query in queries.captured_queries:
                spent[query["sql"][:70]] += float(query["time"])
        for sql, seconds in spent.items():
            print(f"{seconds / 50 * 1000:7.2f} ms  {sql}")
    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU, not the waits on PostgreSQL
        profile.enable()
        for _ in range(n):
            one()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
