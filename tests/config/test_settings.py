"""Settings come from the environment; no secret key is ever committed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def settings_in_child(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    done = settings_in_child({"DEBUG": "0", "RELECTURE_VAR_DIR": str(tmp_path)}, "settings.SECRET_KEY")
    assert done.returncode != 0 and "SECRET_KEY must be set when DEBUG is off" in done.stderr


def test_development_key_is_generated_once_into_var(tmp_path):
    first = settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path)}, "settings.SECRET_KEY")
    second = settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path)}, "settings.SECRET_KEY")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) > 40
    assert (tmp_path / "secret_key").read_text().strip() == first.stdout.strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_is_sqlite_and_filesystem_broker(tmp_path):
    done = settings_in_child(
        {"RELECTURE_VAR_DIR": str(tmp_path)}, "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL"
    )
    assert "sqlite3" in done.stdout and "filesystem://" in done.stdout


def test_database_and_broker_urls_are_read_from_the_environment(tmp_path):
    env = {
        "RELECTURE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://u:p@db.example:5433/name",
        "REDIS_URL": "redis://cache.example:6380/2",
    }
    done = settings_in_child(env, "settings.DATABASES['default']['HOST'], settings.CELERY_BROKER_URL")
    assert "db.example" in done.stdout and "redis://cache.example:6380/2" in done.stdout


def test_gpu_work_is_routed_to_the_gpu_queue():
    router = app.amqp.router
    assert router.route({}, "training.tasks.run_training_job")["queue"].name == "gpu"
    assert router.route({}, "translation.tasks.run_translation_job")["queue"].name == "default"
    assert {q.name for q in app.conf.task_queues} == {"default", "gpu"}


def test_the_filesystem_broker_keeps_every_folder_under_var(tmp_path):
    """kombu's filesystem transport defaults its control folder to ./control, wherever a worker started."""
    done = settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path)}, "settings.CELERY_BROKER_TRANSPORT_OPTIONS")
    options = eval(done.stdout)  # noqa: S307 - our own settings, printed by our own child
    folders = {key: value for key, value in options.items() if key.endswith("_folder") or key.startswith("data_folder")}
    assert set(folders) == {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"}
    assert all(str(value).startswith(str(tmp_path)) for value in folders.values()), folders


def test_a_yes_no_setting_with_a_typo_stops_the_start(tmp_path):
    done = settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path), "DEBUG": "ture"}, "settings.DEBUG")
    assert done.returncode != 0 and "DEBUG='ture': expected one of" in done.stderr
    assert settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path), "DEBUG": "off", "SECRET_KEY": "k" * 50},
                             "settings.DEBUG").stdout.strip() == "False"
