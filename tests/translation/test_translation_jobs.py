"""Translation jobs: a world dataset translated end to end, inline and through a real worker."""

from __future__ import annotations

import os
import signal
import time

import pytest
from child_processes import FAST_RECOVERY, children_of
from django.core.management import CommandError, call_command
from django.db.models import Count
from openai_server import ScriptedServer, echo

from catalog.services import import_dataset
from translation.models import Translation, TranslationJob
from translation.services import JobError, create_job, enqueue, queue_for, requeue

WORLD_INSTRUCT = "llava/llava_instruct.json"


@pytest.fixture
def instruct(small_world):
    return import_dataset(small_world / WORLD_INSTRUCT, format="llava", name="instruct", images=small_world / "images").dataset


@pytest.mark.django_db
def test_inline_translation_stores_turns_checks_and_a_suggested_grade(instruct, capsys):
    call_command("translate", "--dataset", "instruct", "--engine", "apertium", "--limit", "40")
    assert "done, 40/40 translated, 0 errors" in capsys.readouterr().out
    rows = Translation.objects.filter(item__dataset=instruct)
    assert rows.count() == 40
    for row in rows.select_related("item"):
        assert len(row.turns) == len(row.item.conversations)
        assert row.turns[0]["value"].startswith("<image>\n")
        assert row.suggested_grade in {"high", "moderate", "low"}
        assert row.checks["language"] and row.checks["roundtrip_chrf"] is not None
    yes_no = rows.filter(item__task_type="yes_no").first()
    assert yes_no.turns[1]["value"] in {"Oui", "Non"}


@pytest.mark.django_db
def test_rerun_skips_items_already_translated_by_the_same_engine_version(instruct, capsys):
    call_command("translate", "--dataset", "instruct", "--engine", "apertium", "--limit", "10", "--no-round-trip")
    job = create_job("instruct", engine="apertium", limit=25, round_trip=False)
    assert job.total == 25
    call_command("translate", "--dataset", "instruct", "--engine", "apertium", "--limit", "25", "--no-round-trip")
    assert Translation.objects.count() == 35
    assert not Translation.objects.values("item").annotate(n=Count("id")).filter(n__gt=1).exists()


@pytest.mark.django_db
def test_unknown_engine_lists_the_known_ones_and_unknown_dataset_is_named(instruct):
    with pytest.raises(CommandError, match=r"unknown translation engine 'deepl'; known engines: apertium, hf, openai, vllm"):
        call_command("translate", "--dataset", "instruct", "--engine", "deepl")
    with pytest.raises(CommandError, match=r"no dataset named 'nope'; datasets: instruct"):
        call_command("translate", "--dataset", "nope", "--engine", "apertium")
    assert not TranslationJob.objects.exists()


@pytest.mark.django_db
def test_a_server_that_is_down_fails_the_job_with_a_fix_and_writes_nothing(instruct):
    with pytest.raises(CommandError) as failure:
        call_command(
            "translate", "--dataset", "instruct", "--engine", "openai", "--limit", "5",
            "--option", "base_url=http://127.0.0.1:9/v1", "--option", "max_retries=1", "--option", "backoff=0.01",
        )  # fmt: skip
    assert "127.0.0.1:9" in str(failure.value)
    job = TranslationJob.objects.get()
    assert job.state == "failed" and "127.0.0.1:9" in job.message
    assert not Translation.objects.exists()


def test_gpu_engines_go_to_the_gpu_queue():
    assert queue_for("vllm", {}) == "gpu"
    assert queue_for("hf", {"device": "cuda:0"}) == "gpu"
    assert queue_for("hf", {}) == queue_for("apertium", {}) == queue_for("openai", {}) == "default"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_queued_job_runs_on_a_real_worker(instruct, celery_worker_factory, wait_for):
    job = create_job("instruct", engine="apertium", limit=30, round_trip=False)
    enqueue(job)
    celery_worker_factory()
    wait_for(lambda: TranslationJob.objects.get(pk=job.pk).state == "done", timeout=90, what="the job to finish")
    job.refresh_from_db()
    assert job.done == 30 and Translation.objects.count() == 30 and job.items_per_second


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_at_most_the_batch_in_flight_and_the_next_worker_finishes_the_job(
    instruct, celery_worker_factory, wait_for, settings
):
    settings.JOB_STALE_SECONDS = 2
    job = create_job("instruct", engine="apertium", round_trip=True, batch_size=64)
    total = job.total
    enqueue(job)
    worker = celery_worker_factory(env=FAST_RECOVERY)
    wait_for(lambda: TranslationJob.objects.get(pk=job.pk).done >= 64, timeout=120, what="a first batch")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    job.refresh_from_db()
    stored = Translation.objects.count()
    assert job.state == "running" and 0 < job.done == stored < total  # no partial batch, progress exact
    # No requeue by hand: the worker that starts next takes the job over once it is stale.
    celery_worker_factory(env=FAST_RECOVERY)
    wait_for(lambda: TranslationJob.objects.get(pk=job.pk).state == "done", timeout=180, what="the recovered job")
    job.refresh_from_db()
    assert job.done == total == Translation.objects.count()
    assert Translation.objects.values("item").distinct().count() == total  # no duplicates


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_process_was_killed_is_finished_by_its_redelivered_message(
    instruct, celery_worker_factory, wait_for, settings
):
    """Celery redelivers the message at once, while the job still looks alive: the new
    process sends it again for when the job is stale, and then takes it over.

    The engine is the OpenAI one against a loopback server that answers each request in
    0.1 s, so the job outlives the worker's own start-up recovery (apertium's kept
    pipelines finish the whole dataset before that)."""

    def slow_echo(handler, body, n):
        time.sleep(0.1)
        echo(handler, body)

    server = ScriptedServer(slow_echo)
    try:
        settings.OPENAI_BASE_URL = server.url
        job = create_job("instruct", engine="openai", round_trip=False, batch_size=16)
        enqueue(job)
        worker = celery_worker_factory(env={**FAST_RECOVERY, "OPENAI_BASE_URL": server.url})
        started = time.monotonic()
        wait_for(lambda: TranslationJob.objects.get(pk=job.pk).done >= 16, timeout=120, what="a first batch")
        # Past the starting worker's own second look for stalled jobs (JOB_STALE_SECONDS + 1 after
        # it started): what recovers the job now can only be its redelivered message.
        time.sleep(max(0.0, started + 12 - time.monotonic()))
        assert TranslationJob.objects.get(pk=job.pk).state == "running"
        for child in children_of(worker.pid):  # the pool process running the job; the worker itself lives
            os.kill(child, signal.SIGKILL)
        wait_for(lambda: TranslationJob.objects.get(pk=job.pk).state == "done", timeout=180, what="the job to finish")
        job.refresh_from_db()
        assert job.done == job.total == Translation.objects.count()
        assert worker.poll() is None  # the same worker, never restarted
    finally:
        server.close()


@pytest.mark.django_db
def test_only_stopped_jobs_can_be_requeued(instruct):
    job = create_job("instruct", engine="apertium", limit=3)
    with pytest.raises(JobError, match="is queued; only failed, cancelled or stalled jobs can be requeued"):
        requeue(job)


@pytest.mark.django_db
def test_empty_answers_and_non_english_sources_are_handled_and_flagged(tmp_path):
    import json

    records = [
        {"id": "empty", "conversations": [{"from": "human", "value": "What is written here?"}, {"from": "gpt", "value": ""}]},
        {"id": "french", "conversations": [
            {"from": "human", "value": "Quelle est la couleur du grand cercle dans cette image ?"},
            {"from": "gpt", "value": "Le grand cercle est rouge et le petit carré est bleu."},
        ]},
        {"id": "fine", "conversations": [
            {"from": "human", "value": "What colour is the big circle in this picture?"},
            {"from": "gpt", "value": "The big circle is red and the small square is blue."},
        ]},
    ]  # fmt: skip
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(records))
    import_dataset(path, format="llava", name="odd")
    call_command("translate", "--dataset", "odd", "--engine", "apertium")
    rows = {t.item.external_id: t for t in Translation.objects.select_related("item")}
    assert rows["empty"].turns[1]["value"] == ""
    assert rows["french"].checks["source_language_ok"] is False and rows["french"].suggested_grade == "low"
    assert rows["fine"].checks["source_language_ok"] is True


@pytest.mark.django_db
def test_rows_another_job_wrote_after_a_batch_was_read_are_skipped_not_duplicated(instruct):
    from translation.services import run_job

    first = create_job("instruct", engine="apertium", limit=20, round_trip=False, batch_size=10)
    other: list[TranslationJob] = []

    def after_batch(job):
        # Batch 2 (items 11-20) is already read and in the engine: another job now
        # translates items 11-15 with the same engine version before it is written.
        if not other:
            other.append(run_job(create_job("instruct", engine="apertium", limit=5, round_trip=False).pk))

    first = run_job(first.pk, on_batch=after_batch)
    assert other[0].state == "done" and other[0].done == 5
    assert first.state == "done" and first.done == first.total == 20, first.message
    assert Translation.objects.count() == 20
    assert not Translation.objects.values("item").annotate(n=Count("id")).filter(n__gt=1).exists()
    stored = list(Translation.objects.order_by("item__source_index").values_list("item__source_index", flat=True))
    first_twenty = list(instruct.items.order_by("source_index").values_list("source_index", flat=True)[:20])
    assert stored == first_twenty


@pytest.mark.django_db
def test_a_job_over_many_batches_stores_what_translate_items_gives(instruct):
    from translation.engines import get_engine
    from translation.services import run_job
    from translation.structure import ItemSource, translate_items

    job = run_job(create_job("instruct", engine="apertium", limit=30, round_trip=False, batch_size=7).pk)

    assert job.state == "done" and job.done == 30 == Translation.objects.count()  # 5 batches, 4 in flight at most
    rows = list(Translation.objects.select_related("item").order_by("item__source_index"))
    sources = [ItemSource(r.item.conversations, r.item.meta, r.item.task_type) for r in rows]
    expected = translate_items(get_engine("apertium"), sources, "en", "fr")
    assert [r.turns for r in rows] == [t.conversations for t in expected]


@pytest.mark.django_db
def test_an_item_that_breaks_its_batch_is_reported_and_the_others_are_stored(tmp_path):
    import json

    from translation.services import run_job

    records = [
        {"id": f"item{i}", "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is the big circle?"},
            {"from": "gpt", "value": "x" * 20_001 if i == 1 else "The big circle is red."},
        ]}
        for i in range(3)
    ]  # fmt: skip
    path = tmp_path / "long.json"
    path.write_text(json.dumps(records))
    import_dataset(path, format="llava", name="long")
    job = run_job(create_job("long", engine="apertium", round_trip=False).pk)

    assert job.state == "done" and job.done == 2 and job.errors == 1
    assert job.error_log[0]["item"] == "item1" and "20000" in job.error_log[0]["error"]
    assert sorted(Translation.objects.values_list("item__external_id", flat=True)) == ["item0", "item2"]


@pytest.mark.django_db
@pytest.mark.parametrize("concurrent_batches", [1, 2])
def test_an_engine_gets_at_most_its_concurrent_batches_and_rows_stay_in_order(instruct, monkeypatch, concurrent_batches):
    import threading

    from translation import services
    from translation.engines.apertium import ApertiumEngine
    from translation.structure import ItemSource, translate_items

    class Counting(ApertiumEngine):
        """Apertium that records how many of its calls overlap."""

        def __init__(self) -> None:
            super().__init__()
            self.concurrent_batches = concurrent_batches
            self.lock, self.active, self.peak = threading.Lock(), 0, 0

        def _translate_batch(self, texts, source, target):
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                return super()._translate_batch(texts, source, target)
            finally:
                with self.lock:
                    self.active -= 1

    engine = Counting()
    monkeypatch.setattr(services, "get_engine", lambda name, **options: engine)
    job = services.run_job(create_job("instruct", engine="apertium", limit=30, round_trip=False, batch_size=6).pk)

    assert job.state == "done" and job.done == 30 == Translation.objects.count()
    assert engine.peak == concurrent_batches  # 5 batches of ~0.5 s: two overlap when allowed
    rows = list(Translation.objects.select_related("item").order_by("item__source_index"))
    sources = [ItemSource(r.item.conversations, r.item.meta, r.item.task_type) for r in rows]
    assert [r.turns for r in rows] == [t.conversations for t in translate_items(ApertiumEngine(), sources, "en", "fr")]


def _repeated_items(tmp_path, name: str, n: int) -> None:
    import json

    records = [
        {"id": f"item{i}", "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is the big circle?"},
            {"from": "gpt", "value": "The big circle is red." if i % 2 else "It is blue."},
        ]}
        for i in range(n)
    ]  # fmt: skip
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(records))
    import_dataset(path, format="llava", name=name)


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [2, 4])  # 4: repeats within a batch too
def test_repeated_items_get_the_rows_their_translations_give(tmp_path, batch_size):
    from translation.engines import get_engine
    from translation.services import run_job
    from translation.structure import ItemSource, translate_items

    _repeated_items(tmp_path, "repeats", 12)
    job = run_job(create_job("repeats", engine="apertium", round_trip=False, batch_size=batch_size).pk)

    assert job.state == "done" and job.done == 12 == Translation.objects.count()
    rows = list(Translation.objects.select_related("item").order_by("item__source_index"))
    expected = translate_items(get_engine("apertium"), [ItemSource(r.item.conversations) for r in rows[:2]])
    assert [r.turns for r in rows] == [t.conversations for t in expected] * 6
    assert all(r.checks == rows[i % 2].checks and r.suggested_grade == rows[i % 2].suggested_grade for i, r in enumerate(rows))


@pytest.mark.django_db
def test_a_repeat_whose_segments_translate_differently_this_time_is_rendered_again(tmp_path, monkeypatch):
    from translation import services
    from translation.engines.base import BatchResult, Engine

    class CallNumbered(Engine):
        """An engine that never translates the same way twice (an LLM sampling, say)."""

        name = "apertium"

        def __init__(self) -> None:
            self.calls = 0

        def _translate_batch(self, texts, source, target):
            self.calls += 1
            return BatchResult([f"{text} ({self.calls})" for text in texts])

    _repeated_items(tmp_path, "sampled", 8)
    monkeypatch.setattr(services, "get_engine", lambda name, **options: CallNumbered())
    job = services.run_job(create_job("sampled", engine="apertium", round_trip=False, batch_size=2).pk)

    assert job.state == "done" and job.done == 8
    answers = list(Translation.objects.order_by("item__source_index").values_list("turns", flat=True))
    # Batch 4 is planned after batch 1 is stored: its items repeat batch 1's, but not its translations.
    assert [turns[1]["value"] for turns in answers] == [
        f"{answer} ({batch})" for batch in (1, 2, 3, 4) for answer in ("It is blue.", "The big circle is red.")
    ]


def test_jobs_that_overlap_restore_the_gc_thresholds_when_the_last_one_ends():
    import gc
    import threading

    from translation.services import JOB_GC_THRESHOLD, _rare_collections

    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with _rare_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with _rare_collections():  # a second job starts while the first runs, and ends after it
        second_in.set()
        first_out.wait(5)
        assert gc.get_threshold() == JOB_GC_THRESHOLD  # the first job's end left them raised
    thread.join(5)
    assert gc.get_threshold() == before
