"""What the processes a test starts (Celery workers, torchrun ranks) need to share the test's world."""

from __future__ import annotations


def database_url() -> str:
    """This test run's database as a DATABASE_URL, for the processes a test starts (workers, torchrun ranks)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"  # a file during tests (config/settings.py sets TEST NAME)
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def clear_broker() -> None:
    """Drop what earlier tests left queued: Redis's database for tests, or the filesystem broker's folder."""
    import shutil

    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the tests' own Redis database
        return
    for sub in ("out", "processed"):
        folder = settings.CELERY_QUEUE_DIR / sub
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)


def queued_messages(queue: str) -> int:
    """How many task messages wait in `queue`, on Redis or in the filesystem broker's folder."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        return redis.Redis.from_url(settings.REDIS_URL).llen(queue)
    # kombu's filesystem transport writes one file per message: <time>_<uuid>.<queue>.msg
    return sum(1 for path in (settings.CELERY_QUEUE_DIR / "out").iterdir() if path.name.endswith(f".{queue}.msg"))


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a Celery worker's pool children), from /proc."""
    from pathlib import Path

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after the command in parentheses
            found.append(int(entry.name))
    return found


# A killed worker's job is taken over after this silence in the recovery tests (jobs/lifecycle.py);
# every job beats four times within it.
FAST_RECOVERY = {"JOB_STALE_SECONDS": "2", "JOB_HEARTBEAT_SECONDS": "0.5"}
