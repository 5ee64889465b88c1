"""The web process never loads torch or transformers: pages, the API and streamed export
downloads stay light (docs/performance.md: the download target is < 300 MB). Only Celery
workers run models."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings

SCRIPT = """
import sys, django
django.setup()
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
get_wsgi_application()
get_resolver().url_patterns  # every view module, as the first request loads them
heavy = sorted(m for m in ("torch", "transformers", "peft") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_loading_every_view_imports_no_ml_framework():
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "none"
