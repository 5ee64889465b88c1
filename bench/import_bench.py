"""Import benchmark: a LLaVA file the size of blip_laion_cc_sbu_558k into PostgreSQL.

Measures, in one run and on one database:
  1. raw COPY of the same rows (prepared in COPY text format in memory) into audit_item;
  2. `manage.py import_dataset` of the file into a fresh dataset (parse, validate, hash, write);
  3. the same import again, nothing changed.
Imports run as child processes so their peak memory (max RSS) is their own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relecture_bench python bench/import_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relecture_bench"
PROMPTS = [
    "Render a clear and concise summary of the photo.",
    "Write a terse but informative summary of the picture.",
    "Share a concise interpretation of the image provided.",
    "Give a brief description of the image.",
]
WORDS = "red blue green yellow circle square triangle small big left right top bottom near the a and on of".split()


def make_file(path: Path, n: int) -> None:
    records = []
    for i in range(n):
        words = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(6 + i % 9))
        records.append(
            {
                "id": f"{i:09d}",
                "image": f"{i // 10000:05d}/{i:09d}.jpg",
                "conversations": [
                    {"from": "human", "value": PROMPTS[i % len(PROMPTS)] + "\n<image>"},
                    {"from": "gpt", "value": words},
                ],
            }
        )
    path.write_bytes(orjson.dumps(records))


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def raw_copy_rate(path: Path) -> tuple[float, int]:
    """Rows per second of a bare COPY of the same rows into audit_item (an upper bound)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import Dataset

    records = orjson.loads(path.read_bytes())
    now = timezone.now().isoformat()
    with transaction.atomic():
        dataset = Dataset.objects.create(name="bench-raw-copy", kind="train", source_format="llava")
        buffer = io.StringIO()
        for index, r in enumerate(records):
            conversations = orjson.dumps(r["conversations"]).decode()
            digest = hashlib.sha256(conversations.encode()).hexdigest()
            fields = [str(dataset.pk), r["id"], r["image"], conversations, "caption", "", "{}", str(index), digest, now, now]
            buffer.write("\t".join(f.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") for f in fields) + "\n")
        data = buffer.getvalue().encode()
        del records, buffer
        with connection.cursor() as cursor:
            started = time.perf_counter()
            with cursor.cursor.copy(
                "COPY audit_item (dataset_id, external_id, image, conversations, task_type, split, meta,"
                " source_index, content_hash, created_at, updated_at) FROM STDIN"
            ) as copy:
                for offset in range(0, len(data), 1 << 20):
                    copy.write(data[offset : offset + (1 << 20)])
            seconds = time.perf_counter() - started
        count = dataset.items.count()
        transaction.set_rollback(True)  # leave the table as it was for the import runs
    return count / seconds, count


def timed_import(path: Path, url: str, name: str) -> tuple[float, str, int]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "manage.py", "import_dataset", str(path), "--format", "llava", "--name", name, "-v", "0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return seconds, done.stdout.strip(), peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=558_128)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgres"):
        sys.exit("the import benchmark needs PostgreSQL: set DATABASE_URL")
    db = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {db}"], check=True)
    django_setup(url)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blip_laion_cc_sbu_558k.json"
        make_file(path, args.records)
        size_mb = path.stat().st_size / 1e6
        copy_rate, copied = raw_copy_rate(path)
        first_s, first_out, first_peak = timed_import(path, url, "bench-558k")
        again_s, again_out, again_peak = timed_import(path, url, "bench-558k")

    n = args.records
    print(f"file: {n:,} records, {size_mb:.0f} MB")
    print(f"raw COPY:       {copied:,} rows, {copy_rate:,.0f} rows/s (COPY statement only)")
    print(f"import (new):   {first_s:.1f} s, {n / first_s:,.0f} items/s = {n / first_s / copy_rate:.2f}x raw COPY,"
          f" peak RSS {first_peak / 1024:.0f} MB  [{first_out}]")
    print(f"re-import:      {again_s:.1f} s, {n / again_s:,.0f} items/s = {n / again_s / copy_rate:.2f}x raw COPY,"
          f" peak RSS {again_peak / 1024:.0f} MB  [{again_out}]")
    print("(import times are the whole command: process start, Django set-up, JSON parse, validation, writes)")


if __name__ == "__main__":
    main()
