"""Engine options: a job request may only tune an engine, never choose what it runs or where it connects.

Each engine declares its `request_options` (translation/engines/options.py); anything
else is refused when the job is created, with the key named and the accepted ones listed,
so no job reaches a worker with options it will fail on.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Dataset, Item
from translation import services
from translation.models import TranslationJob
from translation.services import JobError, create_job

pytestmark = pytest.mark.django_db

REFUSED = [
    ("apertium", {"executable": "/bin/sh"}, "executable"),
    ("apertium", {"datadir": "/tmp"}, "datadir"),
    ("openai", {"base_url": "http://169.254.169.254/v1"}, "base_url"),
    ("openai", {"api_key": "sk-x"}, "api_key"),
    ("openai", {"temprature": 0.2}, "temprature"),
    ("openai", {"concurrency": 0}, "concurrency"),
    ("openai", {"max_tokens": True}, "max_tokens"),
    ("vllm", {"trust_remote_code": True}, "trust_remote_code"),
    ("hf", {"device": "cuda; rm -rf /"}, "device"),
]


@pytest.fixture
def dataset():
    data = Dataset.objects.create(name="tiny", kind="train", source_format="llava")
    Item.objects.create(
        dataset=data, external_id="a", image="", task_type="caption", source_index=0, content_hash="x",
        conversations=[{"from": "human", "value": "Describe."}, {"from": "gpt", "value": "A red ball."}],
    )  # fmt: skip
    return data


def admin_client(client):
    call_command("createuser", "admin", role="admin", password="correct-horse-42", verbosity=0)
    client.login(username="admin", password="correct-horse-42")
    return client


@pytest.mark.parametrize(("engine", "options", "key"), REFUSED)
def test_the_service_refuses_options_a_request_may_not_set(dataset, engine, options, key):
    with pytest.raises(JobError) as refused:
        create_job(dataset, engine=engine, options=options)
    assert refused.value.field == f"options.{key}"
    assert repr(key) in str(refused.value)
    assert not TranslationJob.objects.exists()


def test_an_unknown_key_lists_the_accepted_ones(dataset):
    with pytest.raises(JobError, match=r"option 'executable' is not accepted by the apertium engine; "
                                       r"accepted options: timeout \(number 1\.\.3600\), max_segment_chars"):  # fmt: skip
        create_job(dataset, engine="apertium", options={"executable": "/bin/sh"})


@pytest.mark.parametrize(("engine", "options", "key"), REFUSED)
def test_the_api_answers_400_naming_the_key(client, dataset, engine, options, key):
    admin_client(client)
    body = {"dataset": "tiny", "engine": engine, "options": options}
    response = client.post("/api/v1/translation/jobs/", body, content_type="application/json")
    assert response.status_code == 400
    assert repr(key) in response.json()["detail"]
    assert not TranslationJob.objects.exists()


def test_valid_options_are_accepted_and_stored(client, dataset, settings):
    settings.OPENAI_ALLOWED_BASE_URLS = ["http://vllm-b:8000/v1"]
    admin_client(client)
    body = {"dataset": "tiny", "engine": "apertium", "options": {"timeout": 60}}
    created = client.post("/api/v1/translation/jobs/", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["options"] == {"timeout": 60.0}
    job = create_job(dataset, engine="openai", options={"base_url": "http://vllm-b:8000/v1", "concurrency": 8})
    assert job.options == {"base_url": "http://vllm-b:8000/v1", "concurrency": 8}
    assert create_job(dataset, engine="openai", options={"base_url": settings.OPENAI_BASE_URL}).pk


def test_a_local_model_must_lie_under_model_root(dataset, settings, tmp_path):
    settings.MODEL_ROOT = tmp_path / "models"
    (tmp_path / "models" / "marian").mkdir(parents=True)
    assert create_job(dataset, engine="hf", model="marian").pk
    for outside in ("/etc", "../elsewhere", str(tmp_path)):
        with pytest.raises(JobError, match="must be a directory under MODEL_ROOT") as refused:
            create_job(dataset, engine="hf", model=outside)
        assert refused.value.field == "model"


def test_apertium_runs_what_the_settings_name(dataset, settings, monkeypatch):
    settings.APERTIUM_EXECUTABLE, settings.APERTIUM_DATADIR = "/opt/apertium/bin/apertium", "/opt/apertium/share"
    seen = {}

    def fake_engine(name, **arguments):
        seen.update(arguments)
        raise services.EngineUnavailable("stop here")

    monkeypatch.setattr(services, "get_engine", fake_engine)
    job = services.run_job(create_job(dataset, engine="apertium", options={"timeout": 5}).pk)
    assert job.state == "failed"
    assert seen == {"executable": "/opt/apertium/bin/apertium", "datadir": "/opt/apertium/share", "timeout": 5.0}


def test_the_translate_command_passes_trusted_arguments_inline_only(dataset, monkeypatch):
    seen = {}

    def fake_engine(name, **arguments):
        seen.update(arguments)
        raise services.EngineUnavailable("stop here")

    monkeypatch.setattr(services, "get_engine", fake_engine)
    with pytest.raises(CommandError, match="stop here"):
        call_command("translate", "--dataset", "tiny", "--engine", "apertium", "--option", "datadir=/srv/apertium",
                     "--option", "timeout=30", verbosity=0)  # fmt: skip
    assert seen["datadir"] == "/srv/apertium" and seen["timeout"] == 30
    assert TranslationJob.objects.get().options == {"timeout": 30.0}
    with pytest.raises(CommandError, match="--option datadir: not a job option; a queued job's worker takes it"):
        call_command("translate", "--dataset", "tiny", "--engine", "apertium", "--option", "datadir=/srv", "--queue")
    with pytest.raises(CommandError, match="--option colour: the apertium engine has no such option"):
        call_command("translate", "--dataset", "tiny", "--engine", "apertium", "--option", "colour=red")
