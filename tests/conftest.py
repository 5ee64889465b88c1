"""Shared fixtures: the small miniature world (generated once per run), a tiny saved model, a database probe."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_processes import clear_broker, database_url

from world.generator import generate_world


def pytest_runtest_setup(item):
    """A test marked `postgresql(reason=...)` is skipped on SQLite, saying why it needs PostgreSQL."""
    marker = item.get_closest_marker("postgresql")
    if marker is None:
        return
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip(f"needs PostgreSQL: {marker.kwargs.get('reason') or marker.args[0]}")


@pytest.fixture(autouse=True)
def _no_throttle_counts_from_earlier_tests():
    """Every test starts with no API request counted. Throttle counts live in the cache (api/throttles.py),
    which outlives a test (Redis even outlives the run) while user ids repeat from test to test.
    On Redis only the cache's own keys go: the same database holds the Celery broker's."""
    from django.conf import settings
    from django.core.cache import cache

    if not settings.REDIS_URL:
        cache.clear()
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    stale = list(client.scan_iter(match=cache.make_key("*"), count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """The `small` world, seed 0: images plus English data in every real format."""
    out = tmp_path_factory.mktemp("world") / "small"
    generate_world(out, seed=0, size="small")
    return out


@pytest.fixture
def db_state():
    """A function returning everything an import can change, to prove a failed run changed nothing."""
    from catalog.models import Dataset, Item

    def state():
        return (
            sorted(Dataset.objects.values_list("name", "kind", "source_format", "image_root", "source_path")),
            sorted(Item.objects.values_list("dataset__name", "external_id", "content_hash", "updated_at")),
        )

    return state


@pytest.fixture
def celery_worker_factory(transactional_db):
    """Start real Celery workers on this run's database and broker; stop them by PID.

    Works on both configurations: PostgreSQL + Redis (as CI's second run sets), and the
    embedded default (the SQLite test file + kombu's filesystem broker under var/, as
    `make demo` runs). The worker is another process and sees the rows this test commits.
    """
    import os
    import signal
    import subprocess
    import sys

    from django.conf import settings

    clear_broker()
    url = database_url()
    started: list[subprocess.Popen] = []

    def start(*, env: dict[str, str] | None = None) -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,gpu", "--concurrency", "1",
             "--without-gossip", "--without-mingle", "--loglevel", "WARNING", "-n", f"test{len(started)}@%h"],
            cwd=settings.BASE_DIR, env={**os.environ, "DATABASE_URL": url, **(env or {})},
            start_new_session=True,  # its own process group, so a kill takes its pool children too
        )  # fmt: skip
        started.append(worker)
        return worker

    yield start
    # A warm shutdown first; then no more waiting: the test is over and the next one starts
    # from an empty broker (clear_broker), so a message left unacknowledged here is harmless.
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in started:
        try:
            worker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.fixture
def wait_for():
    """A poller: `wait_for(condition, timeout=..., what=...)` returns the first truthy value."""
    return _wait_for


def _wait_for(condition, *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def tiny_model_root(small_world: Path, tmp_path_factory) -> Path:
    """A MODEL_ROOT holding `tiny/`: the tiny preset with random weights (answers are noise, fast)."""
    from training.presets import build_tiny, save_model

    root = tmp_path_factory.mktemp("models")
    save_model(*build_tiny(small_world / "corpus" / "english.txt"), root / "tiny")
    return root


@pytest.fixture
def model_root(tiny_model_root: Path, settings, tmp_path) -> Path:
    """settings.MODEL_ROOT and EXPORT_ROOT for one test (the tiny model linked in)."""
    root = tmp_path / "models"
    root.mkdir()
    (root / "tiny").symlink_to(tiny_model_root / "tiny")
    settings.MODEL_ROOT = root
    settings.EXPORT_ROOT = tmp_path / "exports"
    return root


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(monkeypatch):
    """A page in Debian's chromium (never `playwright install`), headless, downloads allowed."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        browser.close()
