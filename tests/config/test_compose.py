"""docker-compose.yml (Docker is not on the development or CI machines, so we read it)."""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "gpu-worker")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    """Every environment variable config/settings.py reads, found in its source."""
    tree = ast.parse((ROOT / "config/settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"get", "env_bool", "env_list", "env_int", "env_float", "env_choice"} and isinstance(node.args[0].value, str):
                if called != "get" or "environ" in ast.unparse(func):
                    names.add(node.args[0].value)
    return names


def test_production_services_are_all_there():
    services = compose()["services"]
    assert set(services) >= {"caddy", "postgres", "redis", "web", "worker", "gpu-worker", "vllm"}
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    worker_args = services["worker"]["command"]
    assert worker_args[worker_args.index("-Q") + 1] == "default"
    gpu_args = services["gpu-worker"]["command"]
    assert gpu_args[gpu_args.index("-Q") + 1] == "gpu"
    assert gpu_args[gpu_args.index("--concurrency") + 1] == "1"
    # GPU services start only with `docker compose --profile gpu up` (docs/study.md).
    assert services["gpu-worker"]["profiles"] == ["gpu"] and services["vllm"]["profiles"] == ["gpu"]
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert services["vllm"]["image"].startswith("vllm/vllm-openai")
    assert "meta-llama/Llama-3.1-8B-Instruct" in services["vllm"]["command"]


def test_app_services_set_only_variables_the_settings_read():
    known = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= known
    for name in APP_SERVICES:
        env = compose()["services"][name]["environment"]
        assert set(env) <= known, f"{name} sets variables no setting reads: {set(env) - known}"
        for required in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"):
            assert env.get(required), f"{name} must set {required}"
        assert env["DEBUG"] == "0"


def test_urls_point_at_the_compose_services_with_matching_credentials():
    services = compose()["services"]
    pg = services["postgres"]["environment"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        db = urlparse(env["DATABASE_URL"].replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", "pw"))
        assert db.hostname == "postgres" and db.username == pg["POSTGRES_USER"] and db.path == "/" + pg["POSTGRES_DB"]
        assert "POSTGRES_PASSWORD" in env["DATABASE_URL"] and "POSTGRES_PASSWORD" in pg["POSTGRES_PASSWORD"]
        assert urlparse(env["REDIS_URL"]).hostname == "redis"
        assert urlparse(env["OPENAI_BASE_URL"]).hostname == "vllm"
        assert {"data:/data"} <= set(services[name]["volumes"])


def test_only_caddy_is_published_and_it_proxies_https_to_gunicorn():
    """Browsers reach the site over HTTPS only: the web service has no port of its own."""
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert services["caddy"]["environment"]["DOMAIN"] == "${DOMAIN:-localhost}"
    assert services["web"]["expose"] == ["8000"]
    # gunicorn must accept Caddy's X-Forwarded-Proto, or every request redirects to HTTPS forever.
    assert "--forwarded-allow-ips '*'" in " ".join(services["web"]["command"])
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    assert "{$DOMAIN:localhost} {" in caddyfile and "reverse_proxy web:8000" in caddyfile


def test_the_app_trusts_exactly_the_domain_caddy_serves():
    env = compose()["x-app-env"]
    assert env["ALLOWED_HOSTS"] == "${DOMAIN:-localhost}"
    assert env["CSRF_TRUSTED_ORIGINS"] == "https://${DOMAIN:-localhost}"
    assert env["TRUSTED_PROXY_COUNT"] == "1"  # Caddy, and nothing else, in front


def test_gpu_worker_installs_the_gpu_requirements_from_a_cuda_index_without_vllm():
    services = compose()["services"]
    args = services["gpu-worker"]["build"]["args"]
    assert args["REQUIREMENTS"] == "requirements-gpu.txt"
    assert args["TORCH_INDEX"].startswith("https://download.pytorch.org/whl/cu")
    requirements = [line for line in (ROOT / "requirements-gpu.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]  # fmt: skip
    assert requirements == ["-r requirements.txt"]
    # The vllm service's image carries its own torch; a pinned tag keeps its API stable.
    assert services["vllm"]["image"] != "vllm/vllm-openai:latest"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG REQUIREMENTS=requirements.txt" in dockerfile and "-r ${REQUIREMENTS}" in dockerfile
    assert "STATIC_ROOT=/app/staticfiles" in dockerfile and "collectstatic --noinput" in dockerfile
