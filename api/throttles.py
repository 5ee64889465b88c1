"""Per-user request rates, counted in the cache (settings.CACHES: Redis when REDIS_URL is set, so
every gunicorn worker counts against the same limit).

ApiThrottle is REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]: every DRF view has it unless it
names its own. settings.API_V1_RATES overrides a scope's rate (tests raise them, production
may lower them).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import UserRateThrottle


class ApiThrottle(UserRateThrottle):
    scope = "api_v1"
    DEFAULT_RATES = {"api_v1": "1200/minute", "snapshot_build": "30/minute", "grading": "6000/minute"}

    def get_rate(self) -> str:
        return {**self.DEFAULT_RATES, **getattr(settings, "API_V1_RATES", {})}[self.scope]


class BuildThrottle(ApiThrottle):
    """Snapshot builds, on top of ApiThrottle: each one reads the whole audit."""

    scope = "snapshot_build"


class GradingThrottle(ApiThrottle):
    """The grading API (audit/api.py): far above any person's pace (a bench client posts tens a
    second), so it only stops a runaway script."""

    scope = "grading"
