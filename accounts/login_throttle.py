"""Every authenticate() goes through django-axes, counted per normalised username + client address.

axes alone checks the count, then checks the password, then records the failure: twelve
attempts sent at once all pass the check before the first failure is recorded. So this
backend *reserves* an attempt before the password is checked, under a lock on the
(username, address) key: the check and the reservation are one step, and at most
AXES_FAILURE_LIMIT passwords are ever tried per key. A reservation counts as a failure
until it is settled: the right password gives it back (`release`), a wrong one turns
it into axes' ordinary failure record (`user_login_failed`), under the same lock, so the
count never dips in between.

Used by /accounts/login/ and /admin/login/ (both Django's AuthenticationForm) and any
other authenticate() call; settings: AXES_* and AUTHENTICATION_BACKENDS in config/settings.py.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_credentials, get_lockout_message
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import connections, router, transaction
from django.db.models import F

from config.database import is_postgresql

from .login_keys import normalise_username

_RESERVED = "relecture_reserved_attempt"  # request attribute: the AccessAttempt id holding our reservation


@contextmanager
def _key_locked(request, credentials):
    """A transaction holding the lock of this (username, address) key.

    PostgreSQL: a transaction-scoped advisory lock on the key's hash, so attempts on
    other keys never wait. SQLite: the embedded default opens every transaction with
    BEGIN IMMEDIATE (config/settings.py), which already takes the database's write lock.
    """
    alias = router.db_for_write(AccessAttempt)
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if is_postgresql(alias):
            key = f"{get_client_username(request, credentials)}\0{request.axes_ip_address}"
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
        yield


class ReservingDatabaseHandler(AxesDatabaseHandler):
    """axes' database handler (AXES_HANDLER) with attempts reserved before the password check."""

    def reserve(self, request, credentials) -> bool:
        """False when the key is locked out; else one attempt is counted until settled."""
        with _key_locked(request, credentials):
            if not self.is_allowed(request, credentials):
                return False
            if self.is_whitelisted(request, credentials):
                return True  # axes never counts whitelisted clients' failures
            attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                defaults={
                    "get_data": "",
                    "post_data": "",
                    "http_accept": request.axes_http_accept,
                    "path_info": request.axes_path_info,
                    "failures_since_start": 1,
                    "attempt_time": request.axes_attempt_time,
                },
            )
            if not created:
                AccessAttempt.objects.filter(pk=attempt.pk).update(
                    failures_since_start=F("failures_since_start") + 1, attempt_time=request.axes_attempt_time
                )
            setattr(request, _RESERVED, attempt.pk)
        return True

    def release(self, request, credentials) -> None:
        """Give back the reservation of an attempt that did not fail (right password, or an error)."""
        pk = getattr(request, _RESERVED, None)
        if pk is None:
            return
        with _key_locked(request, credentials):
            self._unreserve(request, pk)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        pk = getattr(request, _RESERVED, None) if request is not None else None
        if pk is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        # The signal's credentials hold the username as typed by whoever called
        # authenticate(); the reservation was made under the normalised one.
        with _key_locked(request, credentials):
            self._unreserve(request, pk)
            return super().user_login_failed(sender, credentials, request, **kwargs)

    @staticmethod
    def _unreserve(request, pk) -> None:
        AccessAttempt.objects.filter(pk=pk, failures_since_start__gt=0).update(
            failures_since_start=F("failures_since_start") - 1
        )
        AccessAttempt.objects.filter(pk=pk, failures_since_start=0).delete()
        delattr(request, _RESERVED)


class ThrottledModelBackend(AxesStandaloneBackend, ModelBackend):
    """The one authentication backend: axes' lockout, a reservation, then Django's password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = normalise_username(username)
        kwargs.pop("response_context", None)  # axes' keyword, unknown to ModelBackend
        if request is None or not settings.AXES_ENABLED:
            # No request, no client to count: a script or the test client's login(), never an
            # HTTP login (Django's and DRF's views all pass theirs).
            return ModelBackend.authenticate(self, request, username=username, password=password, **kwargs)
        credentials = get_credentials(username=username)
        AxesProxyHandler.update_request(request)
        handler = AxesProxyHandler.get_implementation()
        if not handler.reserve(request, credentials):
            request.axes_locked_out = True  # AxesMiddleware turns the response into the lockout page
            request.axes_credentials = credentials
            raise AxesBackendPermissionDenied(get_lockout_message())
        try:
            user = ModelBackend.authenticate(self, request, username=username, password=password, **kwargs)
        except BaseException:
            handler.release(request, credentials)
            raise
        if user is not None:
            handler.release(request, credentials)
        return user
