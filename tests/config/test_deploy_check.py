"""`manage.py check --deploy` passes clean with the production settings docker-compose.yml sets:
HTTPS redirect, HSTS, Secure cookies, a long SECRET_KEY, DEBUG off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    base.update(DEBUG="0", SECRET_KEY="deploy-check-" + "x9" * 30, RELECTURE_VAR_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_check_deploy_prints_no_warnings_with_debug_off(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_a_weakened_setting(tmp_path):
    """The check still bites: turning HSTS off in the environment brings its warning back."""
    result = check_deploy(tmp_path, SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0 and "security.W004" in result.stdout + result.stderr
