"""Snapshots under concurrency: simultaneous requests make one job; a killed build does not block its rule.

Committed rows, one connection per thread, a real broker (the queue's length counts the
jobs sent) and real Celery workers, on both configurations: PostgreSQL + Redis, and the
embedded SQLite + filesystem broker.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from child_processes import FAST_RECOVERY, clear_broker, queued_messages
from django.db import connection
from export_world import graded_world
from rest_framework.authtoken.models import Token

from exports.build import create_rule, request_snapshot
from exports.models import Snapshot

pytestmark = pytest.mark.django_db(transaction=True)
CALLERS = 8


@pytest.fixture
def broker():
    """The number of messages queued for a queue, counted from an empty broker."""
    clear_broker()
    return queued_messages


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


def at_once(call, n: int = CALLERS) -> list:
    """Run `call` in n threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test asserts there were none
            results[index] = exc
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_simultaneous_requests_for_one_rule_make_one_job(broker):
    graded_world(24)
    rule = create_rule("high", {"min_grade": "high"})
    results = at_once(lambda: request_snapshot(rule, "llava"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({snapshot.pk for snapshot, _created in results}) == 1
    assert sum(created for _snapshot, created in results) == 1
    assert Snapshot.objects.count() == 1 and broker("default") == 1  # one task message sent


def test_simultaneous_api_requests_get_the_same_snapshot(broker, live_server, settings):
    settings.API_V1_RATES = {"api_v1": "10000/minute", "snapshot_build": "10000/minute"}
    _dataset, _campaign, admin = graded_world(24)
    rule = create_rule("hm", {"min_grade": "moderate"})
    headers = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    url = f"{live_server.url}/api/v1/snapshots/"
    responses = at_once(lambda: requests.post(url, json={"rule": rule.pk, "format": "jsonl"}, headers=headers, timeout=30))
    assert sorted(r.status_code for r in responses) == [200] * (CALLERS - 1) + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Snapshot.objects.count() == 1 and broker("default") == 1


@pytest.mark.slow
def test_a_build_whose_worker_was_killed_is_failed_and_built_again(broker, celery_worker_factory, wait_for, settings):
    settings.JOB_STALE_SECONDS = 1
    graded_world(24)
    rule = create_rule("high", {"min_grade": "high"})
    first, _ = request_snapshot(rule, "llava")
    # This worker claims the build, then waits (EXPORT_BUILD_DELAY_SECONDS) with its heartbeat going.
    slow = celery_worker_factory(env={"JOB_STALE_SECONDS": "1", "EXPORT_BUILD_DELAY_SECONDS": "120"})
    wait_for(lambda: Snapshot.objects.get(pk=first.pk).state == "building", timeout=60, what="the build to start")
    beat = Snapshot.objects.get(pk=first.pk).heartbeat_at
    wait_for(lambda: Snapshot.objects.get(pk=first.pk).heartbeat_at > beat, timeout=10, what="a heartbeat")
    # A request while the worker lives gets the build in progress, not a second one.
    assert request_snapshot(rule, "llava") == (Snapshot.objects.get(pk=first.pk), False)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait()
    time.sleep(1.5)  # no heartbeat for longer than JOB_STALE_SECONDS
    second, created = request_snapshot(rule, "llava")
    first.refresh_from_db()
    assert created and second.pk != first.pk
    assert first.state == "failed" and "stalled" in first.message and "a new request builds it again" in first.message
    celery_worker_factory(env={"JOB_STALE_SECONDS": "1"})
    wait_for(lambda: Snapshot.objects.get(pk=second.pk).state == "done", timeout=90, what="the new build")
    assert Snapshot.objects.get(pk=second.pk).item_count == 6


@pytest.mark.slow
def test_a_build_whose_worker_was_killed_is_finished_by_the_next_worker_without_a_request(
    broker, celery_worker_factory, wait_for, settings
):
    settings.JOB_STALE_SECONDS = 2
    graded_world(24)
    rule = create_rule("high", {"min_grade": "high"})
    snapshot, _ = request_snapshot(rule, "llava")
    slow = celery_worker_factory(env={**FAST_RECOVERY, "EXPORT_BUILD_DELAY_SECONDS": "120"})
    wait_for(lambda: Snapshot.objects.get(pk=snapshot.pk).state == "building", timeout=60, what="the build to start")
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait()
    celery_worker_factory(env=FAST_RECOVERY)  # it finds the stalled build when it starts, or on its second look
    wait_for(lambda: Snapshot.objects.get(pk=snapshot.pk).state == "done", timeout=90, what="the same snapshot built")
    assert Snapshot.objects.count() == 1 and Snapshot.objects.get(pk=snapshot.pk).item_count == 6
