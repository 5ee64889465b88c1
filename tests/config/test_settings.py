"""Settings come from the environment; no secret key is ever committed."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

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
    # Evaluation's task kept the name it had in training, so it rides the same route.
    from evaluation.tasks import run_evaluation

    assert router.route({}, run_evaluation.name)["queue"].name == "gpu"
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


# --- every environment reader is strict -------------------------------------------------------------
# config/settings.py is executed afresh (runpy) under a patched environment: the same code a process
# runs at start, without a child process per case.

SETTINGS_FILE = ROOT / "config" / "settings.py"


def settings_with(monkeypatch, tmp_path, **env: str) -> dict:
    monkeypatch.setenv("RELECTURE_VAR_DIR", str(tmp_path))
    for name in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"):  # the embedded default, whatever CI sets
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("DEBUG", "ture", "expected one of 1/0, true/false, yes/no, on/off"),
        ("CELERY_TASK_ALWAYS_EAGER", "yes please", "expected one of 1/0, true/false, yes/no, on/off"),
        ("TRAINING_THREADS", "abc", "expected an integer of at least 0"),
        ("TRAINING_THREADS", "-1", "expected an integer of at least 0"),
        ("TRAINING_THREADS", "2.5", "expected an integer of at least 0"),
        ("TRAINING_RENDEZVOUS_PORT", "70000", "expected an integer from 0 to 65535"),
        ("TRAINING_RENDEZVOUS_TIMEOUT", "-5", "expected an integer of at least 1"),
        ("TRAINING_RENDEZVOUS_TIMEOUT", "0", "expected an integer of at least 1"),
        ("TRAINING_GPU_MEMORY_GIB", "eighty", "expected a number of at least 1.0"),
        ("TRAINING_GPU_MEMORY_GIB", "nan", "expected a number of at least 1.0"),
        ("TRAINING_SEQUENCE_LENGTH", "2k", "expected an integer of at least 1"),
        ("IMPORT_MAX_TURN_CHARS", "0", "expected an integer of at least 1"),
        ("IMPORT_MAX_RECORD_BYTES", "1e6", "expected an integer of at least 1"),
        ("IMPORT_MAX_ID_CHARS", "201", "expected an integer from 1 to 200"),  # Item.external_id holds 200
        ("DB_CONN_MAX_AGE", "-60", "expected an integer of at least 0"),
        ("TRUSTED_PROXY_COUNT", "one", "expected an integer of at least 0"),
        ("SECURE_HSTS_SECONDS", "1 year", "expected an integer of at least 0"),
        ("JOB_HEARTBEAT_SECONDS", "-5", "expected a number of at least 0.1"),
        ("JOB_HEARTBEAT_SECONDS", "inf", "expected a number of at least 0.1"),
        ("JOB_STALE_SECONDS", "-30", "expected an integer of at least 1"),
        ("EXPORT_BUILD_DELAY_SECONDS", "-1", "expected a number of at least 0.0"),
        ("LOG_LEVEL", "VERBOSE", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_a_malformed_setting_stops_the_start_naming_the_variable_and_what_it_accepts(
    monkeypatch, tmp_path, name, value, accepted
):
    with pytest.raises(ImproperlyConfigured) as error:
        settings_with(monkeypatch, tmp_path, **{name: value})
    assert str(error.value) == f"{name}={value!r}: {accepted}"


def test_well_formed_settings_are_read(monkeypatch, tmp_path):
    loaded = settings_with(
        monkeypatch, tmp_path, TRAINING_THREADS=" 4 ", TRAINING_RENDEZVOUS_PORT="65535", JOB_HEARTBEAT_SECONDS="0.5",
        TRAINING_GPU_MEMORY_GIB="141", IMPORT_MAX_ID_CHARS="200", LOG_LEVEL="warning", SECURE_HSTS_SECONDS="0",
    )
    assert (loaded["TRAINING_THREADS"], loaded["TRAINING_RENDEZVOUS_PORT"]) == (4, 65535)
    assert (loaded["JOB_HEARTBEAT_SECONDS"], loaded["TRAINING_GPU_MEMORY_GIB"]) == (0.5, 141.0)
    assert (loaded["IMPORT_MAX_ID_CHARS"], loaded["SECURE_HSTS_SECONDS"]) == (200, 0)
    assert loaded["LOGGING"]["root"]["level"] == "WARNING"


def test_an_empty_setting_reads_as_its_default(monkeypatch, tmp_path):
    # docker-compose passes `NAME:` with no value as an empty string; that is "not set", as for env_bool.
    loaded = settings_with(monkeypatch, tmp_path, JOB_STALE_SECONDS="", LOG_LEVEL=" ", TRAINING_THREADS="")
    assert (loaded["JOB_STALE_SECONDS"], loaded["LOGGING"]["root"]["level"], loaded["TRAINING_THREADS"]) == (30, "INFO", 0)


def test_a_malformed_number_stops_a_real_start(tmp_path):
    done = settings_in_child({"RELECTURE_VAR_DIR": str(tmp_path), "JOB_STALE_SECONDS": "abc"}, "settings.JOB_STALE_SECONDS")
    assert done.returncode != 0 and "JOB_STALE_SECONDS='abc': expected an integer of at least 1" in done.stderr
