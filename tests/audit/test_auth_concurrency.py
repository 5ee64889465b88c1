"""Twelve wrong passwords sent at once for one username + address: at most five are ever checked.

The limit holds because an attempt is reserved before its password is checked
(accounts/login_throttle.py); counting only after the check let 7 of 12 through.
Real threads, each with its own database connection, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from axes.models import AccessAttempt
from campaign_world import make_user
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Sum
from django.test import Client

ATTEMPTS = 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_never_exceed_the_limit(monkeypatch):
    make_user("rev1", "reviewer", password=True)
    checked = []
    real_check = User.check_password

    def counting_check(user, raw_password):
        checked.append(raw_password)  # list.append is atomic under the GIL
        return real_check(user, raw_password)

    monkeypatch.setattr(User, "check_password", counting_check)
    start = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def one_attempt(n: int) -> None:
        try:
            client = Client()
            start.wait(timeout=30)
            response = client.post("/accounts/login/", {"username": "rev1", "password": f"guess-{n}"},
                                   REMOTE_ADDR="203.0.113.66")  # fmt: skip
            statuses.append(response.status_code)
        except BaseException as error:  # reported below, with the thread's own exception
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, f"attempts raised: {errors!r}"
    assert len(statuses) == ATTEMPTS and set(statuses) <= {200, 429}, f"answers: {statuses}"
    limit = settings.AXES_FAILURE_LIMIT
    assert len(checked) <= limit, f"{len(checked)} of {ATTEMPTS} concurrent passwords were checked; the limit is {limit}"
    recorded = AccessAttempt.objects.filter(username="rev1").aggregate(n=Sum("failures_since_start"))["n"]
    assert recorded == len(checked), f"{recorded} failures recorded for {len(checked)} wrong passwords checked"
    assert statuses.count(429) >= ATTEMPTS - limit + 1
