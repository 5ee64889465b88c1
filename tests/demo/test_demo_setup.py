"""`make demo`'s set-up on the embedded default: a served login page and the world datasets."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def embedded_env(tmp_path):
    """No DATABASE_URL or REDIS_URL: SQLite and the filesystem broker under a fresh var/."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["RELECTURE_VAR_DIR"] = str(tmp_path / "var")
    return env


def test_setup_then_server_shows_login_and_world_datasets(embedded_env, tmp_path):
    setup = [sys.executable, "manage.py", "setup_demo"]
    first = subprocess.run(setup, cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    started = time.perf_counter()
    second = subprocess.run(setup, cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and "0 new, 0 updated" in second.stdout
    assert "translating" in first.stdout and "translating" not in second.stdout
    assert time.perf_counter() - started < 15  # "a second run starts in seconds"
    passwords = json.loads((tmp_path / "var/demo-users.json").read_text())
    assert passwords["annotator"] in first.stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=embedded_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = _get_when_up(opener, base + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        form = urllib.parse.urlencode(
            {"username": "reviewer", "password": passwords["reviewer"], "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(base + "/accounts/login/", data=form, headers={"Referer": base})
        home = opener.open(request, timeout=10).read().decode()
        for name in ("world-captions", "world-instruct", "world-scienceqa", "world-textvqa", "world-pope"):
            assert name in home
        assert "reviewer" in home
        campaigns = opener.open(base + "/audit/campaigns/", timeout=10).read().decode()
        assert "demo-instruct" in campaigns  # translated and ready to grade
    finally:
        server.terminate()
        server.wait(timeout=10)


def _get_when_up(opener, url: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return opener.open(url, timeout=5).read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
