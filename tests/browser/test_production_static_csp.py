"""The production layout in chromium: gunicorn with DEBUG off serves the static files itself
(WhiteNoise, collected and hashed), every page carries a Content-Security-Policy, and the
grading page's script runs under it without a single violation.

The server runs as docker-compose.yml's `web` service does, minus the proxy: Caddy sends
`X-Forwarded-Proto: https`, so the browser sends it here (Playwright's extra headers); Secure
cookies, the HTTPS redirect and HSTS all stay on. The database is a SQLite file of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from campaign_world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

# An annotator with a campaign of 12 items, written by the server's own settings.
SETUP = """
from PIL import Image
from campaign_world import make_campaign, make_dataset, make_user
root = {images!r}
for i in range(3):
    Image.new("RGB", (64, 64), ("red", "green", "blue")[i]).save(f"{{root}}/img{{i}}.png")
dataset = make_dataset(12, image_root=root)
ann = make_user("ann", "annotator", password=True)
bob = make_user("bob", "annotator")
make_user("rev", "reviewer", password=True)
print(make_campaign(dataset, [ann, bob], overlap=2, control_share=0).pk)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """gunicorn on 127.0.0.1 with DEBUG=0, migrated, collectstatic run, one campaign: (base URL, campaign id)."""
    var = tmp_path_factory.mktemp("production-var")
    (var / "images").mkdir()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DEBUG="0",
        SECRET_KEY="production-test-" + "k" * 50,
        RELECTURE_VAR_DIR=str(var),
        ALLOWED_HOSTS="127.0.0.1",
        # Chromium's login POST says Origin: http://...; behind Caddy it would say https://DOMAIN.
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}",
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")]),
    )
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True, capture_output=True)
    setup = subprocess.run(manage + ["shell", "-c", SETUP.format(images=str(var / "images"))],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # fmt: skip
    campaign = int(setup.stdout.split()[-1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--workers", "1", "--threads", "4"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(https_request(base + "/accounts/login/"), timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start: " + server.stderr.read().decode()[-2000:])
                time.sleep(0.3)
        yield base, campaign
    finally:
        server.terminate()
        server.wait(timeout=20)


def https_request(url: str) -> urllib.request.Request:
    """A request as Caddy forwards it: the client spoke HTTPS."""
    return urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll `expression` from outside the page: wait_for_function evals a string in the page,
    which this very CSP forbids (no 'unsafe-eval'); page.evaluate goes through DevTools."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {expression}")
        time.sleep(0.1)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in_over_https(page, base: str, username: str) -> tuple[list[str], dict[str, int]]:
    """Log in as Caddy would forward it; return the console's lines and the static files' statuses, as they come."""
    page.set_extra_http_headers({"X-Forwarded-Proto": "https"})
    # Chromium reports each blocked script, style or image both as an event and on the console.
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    statics: dict[str, int] = {}
    page.on("response", lambda r: statics.update({r.url: r.status}) if "/static/" in r.url else None)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return console, statics


def test_grading_page_runs_its_script_under_the_csp_with_static_files_from_gunicorn(production_server, browser_page):
    base, campaign = production_server
    page = browser_page
    console, statics = log_in_over_https(page, base, "ann")
    document = page.goto(f"{base}/audit/campaigns/{campaign}/grade/")

    # The script ran: the page left its loading state and shows an item with its image.
    page.wait_for_selector("#grader[data-state=item]")
    wait_until(page, "document.getElementById('item-image').naturalWidth === 64")
    assert "La forme" in page.inner_text("#turns")

    policy = document.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # Collected under hashed names (cacheable forever) and served by gunicorn itself.
    scripts = [url for url in statics if "/static/audit/grade." in url and url.endswith(".js")]
    assert scripts and scripts[0] != base + "/static/audit/grade.js", statics
    assert statics and all(status == 200 for status in statics.values()), statics
    assert page.evaluate("window.cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text], console


def test_results_page_draws_its_chart_with_plotly_without_a_csp_violation(production_server, browser_page):
    """plotly injects its stylesheet unless told it is there (templates/_plotly.html, static/css/plotly.css)."""
    base, _ = production_server
    page = browser_page
    console, statics = log_in_over_https(page, base, "rev")
    page.goto(base + "/results/")
    wait_until(page, "typeof Plotly === 'object' && document.getElementById('loss-chart').dataset.state !== 'loading'")
    assert statics and all(status == 200 for status in statics.values()), statics
    assert page.evaluate("window.cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text], console


def test_plain_http_is_redirected_and_https_answers_carry_hsts_and_csp(production_server):
    base, _ = production_server
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(base + "/accounts/login/", timeout=10)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"].startswith("https://127.0.0.1:")

    login = opener.open(https_request(base + "/accounts/login/"), timeout=10)
    assert "max-age=" in login.headers["Strict-Transport-Security"]
    assert "default-src 'self'" in login.headers["Content-Security-Policy"]
    assert all("; secure" in c.lower() for c in login.headers.get_all("Set-Cookie") or []), "cookies must be Secure"


@pytest.mark.parametrize("path", ["/static/admin/css/base.css", "/static/vendor/plotly/plotly.min.js",
                                  "/static/css/relecture.css", "/static/django_htmx/htmx-2.min.js"])  # fmt: skip
def test_static_files_are_served_with_debug_off(production_server, path):
    base, _ = production_server
    response = urllib.request.urlopen(https_request(base + path), timeout=10)
    assert response.status == 200 and len(response.read()) > 1000
