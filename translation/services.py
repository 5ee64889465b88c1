"""Translation jobs: create, run, requeue, cancel. The one place that writes Translations.

A job walks its dataset in file order, a batch of items at a time (the engine's
`batch_size`, or the job's). Each batch goes
through the engine in one call (plus one call back for the round-trip check), and its
rows (COPY on PostgreSQL, `store.py`) and the job's progress are written in one
transaction that skips rows existing already on the (item, language, engine, model,
prompt version) constraint. So a worker killed
mid-job loses at most the batch in flight, a re-run skips what is done, and a
redelivered task can never duplicate a row.

A worker renders and checks each distinct item once (`_SeenItems`): a repeat still
sends its segments to the engine with its batch, and reuses the row content only if
they translate the same again.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from api.errors import FieldError
from catalog.models import Dataset, Item
from jobs import lifecycle
from jobs.lifecycle import heartbeat, requeue_stalled

from . import store
from .checks import run_checks
from .engines import (
    ENGINES,
    BatchResult,
    Engine,
    EngineError,
    EngineOptionError,
    EngineUnavailable,
    UnknownEngine,
    Usage,
    check_options,
    engine_class,
    get_engine,
)
from .injection import Injection, split_options
from .models import Translation, TranslationJob
from .prompts import prompt_hash
from .structure import BatchPlan, ItemSource, ItemTranslation, plan_items, translate_items

log = logging.getLogger(__name__)

ERROR_LOG_SIZE = 20
GPU_ENGINES = frozenset({"vllm"})


class JobError(FieldError, ValueError):
    """A job cannot be created or changed as asked; the message says why (`field`: which input).
    Still a ValueError: the translate command and the page catch bad inputs as such."""


def queue_for(engine: str, options: dict) -> str:
    """GPU engines (in-process vLLM, hf on CUDA) run on the `gpu` Celery queue."""
    if engine in GPU_ENGINES or str(options.get("device", "cpu")).startswith("cuda"):
        return "gpu"
    return "default"


def pending_items(job: TranslationJob, prompt_version: str):
    """Items of the job's dataset without a translation of this engine version, in file order."""
    done = Translation.objects.filter(
        item=OuterRef("pk"),
        target_language=job.target_language,
        engine=job.engine,
        model=job.model,
        prompt_version=prompt_version,
    )
    return Item.objects.filter(dataset_id=job.dataset_id).filter(~Exists(done)).order_by("source_index")


@transaction.atomic
def create_job(
    dataset: Dataset | str,
    *,
    engine: str,
    model: str = "",
    options: dict | None = None,
    limit: int | None = None,
    round_trip: bool = True,
    batch_size: int | None = None,
    target_language: str = "fr",
    created_by=None,
) -> TranslationJob:
    """Validate and store a job (not yet started). Unknown engines list the known ones."""
    if engine not in ENGINES:
        raise JobError(f"unknown translation engine {engine!r}; known engines: {', '.join(sorted(ENGINES))}")
    if limit is not None and limit < 1:
        raise JobError(f"limit must be a positive number of items, got {limit}")
    if batch_size is not None and batch_size < 1:
        raise JobError(f"batch size must be a positive number of items, got {batch_size}")
    if isinstance(dataset, str):
        try:
            dataset = Dataset.objects.get(name=dataset)
        except Dataset.DoesNotExist:
            known = ", ".join(Dataset.objects.values_list("name", flat=True)) or "none imported yet"
            raise JobError(f"no dataset named {dataset!r}; datasets: {known}") from None
    options = _request_options(engine, model, options or {})
    job = TranslationJob.objects.create(
        dataset=dataset, engine=engine, model=model, options=options, limit=limit, round_trip=round_trip,
        batch_size=batch_size,
        target_language=target_language, queue=queue_for(engine, options), created_by=created_by,
    )  # fmt: skip
    job.total = _remaining(job)
    job.save(update_fields=["total"])
    return job


def enqueue(job: TranslationJob) -> None:
    """Send the job to its Celery queue once the row is committed (by the task's name:
    tasks.py imports this module, never the reverse)."""
    lifecycle.enqueue("translation.tasks.run_translation_job", job.pk, queue=job.queue)


def requeue(job: TranslationJob) -> TranslationJob:
    """Put a failed, cancelled or stalled job back in the queue; it resumes where it stopped."""
    return lifecycle.requeue(job, send=enqueue, refuse=lambda message: JobError(message, "state", status=409))


def cancel(job: TranslationJob) -> bool:
    """Stop a queued job at once, a running one after the batch it is storing (jobs/lifecycle.py)."""
    return lifecycle.cancel(job)


# A job allocates millions of small objects, nearly all acyclic (dicts, tuples, strings),
# while the worker's caches grow: at Python's default thresholds (700, 10, 10) the cyclic
# collector ran 350-470 times per 10,000 world items, its full passes walking every cached
# object, a quarter of the job's own CPU (docs/performance.md, bench/translate_own_cpu.py).
# A job runs with rarer collections; the thresholds come back when it ends.
JOB_GC_THRESHOLD = (100_000, 50, 100)


_jobs_running = 0  # in this process: jobs may nest (tests) or overlap (a threads pool)
_jobs_lock = threading.Lock()
_thresholds_before_jobs = gc.get_threshold()


@contextmanager
def _rare_collections() -> Iterator[None]:
    """The first job to start raises the thresholds; the last to end restores them."""
    global _jobs_running, _thresholds_before_jobs
    with _jobs_lock:
        if not _jobs_running:
            _thresholds_before_jobs = gc.get_threshold()
            gc.set_threshold(*JOB_GC_THRESHOLD)
        _jobs_running += 1
    try:
        yield
    finally:
        with _jobs_lock:
            _jobs_running -= 1
            if not _jobs_running:
                gc.set_threshold(*_thresholds_before_jobs)


def run_job(
    job_id: int, *, on_batch: Callable[[TranslationJob], None] | None = None, engine_arguments: dict | None = None
) -> TranslationJob:
    """Run a job to the end (inline or inside a Celery task). Claiming it first means
    two workers never run the same job: a redelivered message finds it taken.

    `engine_arguments` are constructor arguments from trusted code only (the `translate`
    command run inline), never a request's: they may set what a job's options may not."""
    # Each attempt measures its own rate (`items_per_second`): from its start and `done` then.
    claimed, job = lifecycle.claim(TranslationJob.objects.all(), job_id, started_at=timezone.now(), run_started_done=F("done"))
    if not claimed:
        log.info("translation job %s is %s; not running it", job_id, job.state)
        return job
    mine = lambda: lifecycle.this_attempt(job)  # noqa: E731
    try:
        engine = get_engine(job.engine, **{**_engine_arguments(job), **(engine_arguments or {})})
        try:
            with _rare_collections(), heartbeat(mine, name=f"translation-job-{job_id}"):
                _run_batches(job, engine, on_batch)
        finally:
            engine.close()  # apertium's pipelines live for the job, not the worker
    except (EngineUnavailable, UnknownEngine) as exc:
        _finish(job, TranslationJob.State.FAILED, str(exc))
    except Exception as exc:  # the job page shows it; the worker lives on
        log.exception("translation job %s failed", job_id)
        tail = "".join(traceback.format_exception(exc)[-3:])
        _finish(job, TranslationJob.State.FAILED, f"{type(exc).__name__}: {exc}\n\n{tail}")
    job.refresh_from_db()
    return job


def recover_stalled_jobs() -> list[int]:
    """Requeue running jobs whose worker died (jobs/lifecycle.py runs this when a worker starts)."""
    return requeue_stalled(TranslationJob.objects.all(), requeue, JobError)


def _run_batches(job: TranslationJob, engine: Engine, on_batch) -> None:
    """Keep the engine busy: `concurrent_batches` batches run in engine threads (1, or 2
    for apertium) and one more waits, planned, behind them, so an engine thread that
    finishes starts the next batch at once, while this thread checks and stores the
    batch that finished. Batches are checked and stored in order, and `engine_seconds`
    sums the calls (with two engine threads it can exceed the job's wall time).

    The engine thread does nothing but the engine call: this thread plans a batch
    before handing it over and renders it after, so the engine (subprocesses or HTTP)
    never waits on the job's Python work, and a check or a write that runs late (a
    loaded machine) has a whole engine batch of slack. (Running that work in a thread at
    lower CPU priority measured no better: docs/performance.md.) Work lost to a killed
    worker is at most the batches in flight (`concurrent_batches` + 2, the one being
    stored included); no row of any is half-written.
    """
    version = store.Version(
        target_language=job.target_language, engine=job.engine, model=job.model,
        prompt_version=engine.prompt_version or "", prompt_hash=prompt_hash() if engine.prompt_version else "",
        params=_engine_options(job),
    )  # fmt: skip
    size = job.batch_size or engine.batch_size
    after = -1
    queued: deque[tuple[Future[_Translated | _EngineOutput], int]] = deque()  # oldest first, with sizes
    threads = engine.concurrent_batches
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"translation-job-{job.pk}")
    try:
        while True:
            row = lifecycle.this_attempt(job).values("cancel_requested", "done", "total").first()
            if row is None:
                return  # stopped, or taken over by another worker after this one looked dead
            if row["cancel_requested"]:  # from the page or the API
                _finish(job, TranslationJob.State.CANCELLED)
                return
            job.done, job.total = row["done"], row["total"]
            # With every engine thread busy and one batch waiting, wait for the oldest
            # before reading another.
            translated = queued[0][0].result() if len(queued) == threads + 1 else None
            in_flight = sum(n for _, n in queued)
            budget = job.total - job.done - in_flight if job.limit else size
            batch: list[store.PendingItem] = []
            if budget > 0:
                batch, after = store.next_batch(job.dataset_id, version, after, min(size, budget))
            if batch:
                queued.append((pool.submit(_engine_work, job, engine, _plan(job, engine, batch)), len(batch)))
            elif not queued:
                _finish(job, TranslationJob.State.DONE)
                return
            if translated is None and not batch:
                translated = queued[0][0].result()  # nothing left to read: drain
            if translated is not None:
                queued.popleft()
                rows, result = _checked(job, translated)
                _store(job, rows, result, version)
                if on_batch:
                    on_batch(job)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Translated:
    """One batch back from the engine: what translated, what failed, what it cost."""

    done: list[tuple[store.PendingItem, ItemTranslation, ItemTranslation | None, Usage]] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class _Seen:
    """An item this worker has rendered and checked: the translations of its engine
    segments it was rendered from, and the row content that came out."""

    engine_outputs: tuple[tuple[str, str], ...]
    content: store.Content

    def holds_for(self, translations: dict[str, str]) -> bool:
        """Whether a repeat translated with `translations` renders to the same content."""
        return all(translations.get(segment) == output for segment, output in self.engine_outputs)


class _SeenItems:
    """What `_Seen` each distinct item (and direction) rendered to, bounded: the oldest
    entry goes first. A dataset's items repeat (templated questions and answers: the
    world's 10,000 instruction items hold 4,600 distinct ones), and rendering and checking
    are pure functions of an item and its segments' translations, so a repeat whose
    segments translate the same again reuses the rows' content, its COPY text included."""

    def __init__(self, size: int) -> None:
        self._size, self._entries, self._lock = size, dict[tuple, _Seen](), threading.Lock()

    def get(self, key: tuple) -> _Seen | None:
        return self._entries.get(key)

    def put(self, key: tuple, seen: _Seen) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = seen


# Bounded by memory: an entry holds a row content and its COPY text, ~2 KB for a world
# item (480 characters of JSON), an estimated ~10 KB for a ScienceQA item with its lecture.
_seen = _SeenItems(8_192)


@dataclass
class _Planned:
    """A batch ready for the engine thread; `plan` is None when the engine thread must
    do the whole translation itself (round trip, or an item that cannot be planned).
    `plan` covers the items at the indexes in `fresh`, in order; `keys` name each item's
    content and direction in `_seen`."""

    batch: list[store.PendingItem]
    plan: BatchPlan | None
    keys: list[tuple] = field(default_factory=list)
    fresh: frozenset[int] = frozenset()


@dataclass
class _EngineOutput:
    """The engine's answer for a planned batch, not yet rendered into items."""

    planned: _Planned
    result: BatchResult
    seconds: float


def _plan(job: TranslationJob, engine: Engine, batch: list[store.PendingItem]) -> _Planned:
    """Plan the first item of each content this worker has not rendered before. A repeat
    (of an item rendered before, or of one earlier in the batch) is not planned: it only
    adds its engine segments to the batch, which the engine still translates."""
    if job.round_trip:
        return _Planned(batch, None)
    direction = (job.source_language, job.target_language, engine.max_segment_chars)
    keys = [(item.content_key, *direction) for item in batch]
    fresh: dict[tuple, int] = {}
    known: dict[tuple, _Seen] = {}
    for index, key in enumerate(keys):
        if key not in fresh and key not in known:
            if (seen := _seen.get(key)) is None:
                fresh[key] = index
            else:
                known[key] = seen
    firsts = [batch[index] for index in fresh.values()]
    sources = [ItemSource(item.conversations, item.meta, item.task_type) for item in firsts]
    try:
        plan = plan_items(sources, engine.max_segment_chars, job.source_language, job.target_language)
    except Exception:
        return _Planned(batch, None)  # the engine thread isolates the item that breaks the batch
    plan.include(segment for seen in known.values() for segment, _ in seen.engine_outputs)
    return _Planned(batch, plan, keys, frozenset(fresh.values()))


def _engine_work(job: TranslationJob, engine: Engine, planned: _Planned) -> _Translated | _EngineOutput:
    """The engine call for a batch (no database, no rendering: this runs in the engine thread)."""
    if planned.plan is None:
        return _translate_each(job, engine, planned.batch)
    started = time.perf_counter()
    segments = planned.plan.segments
    try:
        result = engine.translate(segments, job.source_language, job.target_language) if segments else BatchResult([])
    except EngineError:
        raise  # the engine itself is failing (server down after retries): stop the job
    except Exception:
        return _translate_each(job, engine, planned.batch)
    return _EngineOutput(planned, result, time.perf_counter() - started)


def _checked(job: TranslationJob, output: _Translated | _EngineOutput) -> tuple[list[store.Row], _Translated]:
    """Render a batch the engine translated and check each item (pure Python, no database)."""
    injection = Injection.from_options(job.options)
    if isinstance(output, _Translated):
        rows = [
            store.Row(item.pk, _content(job, item, translated, back.conversations if back else None, usage, injection))
            for item, translated, back, usage in output.done
        ]
        return rows, output
    planned, usage = output.planned, output.result.usage
    assert planned.plan is not None
    # Rendering only looks up the engine's outputs for planned segments: it cannot
    # fail on an item where planning and the engine call succeeded.
    translations = planned.plan.translations(output.result.outputs)
    rendered = iter(planned.plan.render_translations(translations, usage))
    rows = []
    for index, (item, key) in enumerate(zip(planned.batch, planned.keys)):
        # A repeat of an item rendered before, or earlier in this batch.
        seen = None if index in planned.fresh else _seen.get(key)
        if seen is None or not seen.holds_for(translations):
            # New, or a repeat whose segments translated differently this time.
            translated = next(rendered) if index in planned.fresh else planned.plan.render_other(
                ItemSource(item.conversations, item.meta, item.task_type), translations
            )  # fmt: skip
            seen = _Seen(translated.engine_outputs(), _content(job, item, translated, None, usage))
            _seen.put(key, seen)
        rows.append(store.Row(item.pk, _injected(job, item, seen.content, injection)))
    tokens = (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)
    return rows, _Translated(seconds=output.seconds, tokens=tokens)


def _content(
    job: TranslationJob, item: store.PendingItem, translated: ItemTranslation, back, usage: Usage,
    injection: Injection | None = None,
) -> store.Content:  # fmt: skip
    turns, kind = injection.apply(item.external_id, item.conversations, translated.conversations) if injection \
        else (translated.conversations, "")  # fmt: skip
    checks = run_checks(
        item.conversations, turns,
        source_lang=job.source_language, target_lang=job.target_language, back_translation=back,
        left_words=_left_words(translated, usage),
    )  # fmt: skip
    return store.Content(turns, translated.meta, checks, kind)


def _injected(
    job: TranslationJob, item: store.PendingItem, content: store.Content, injection: Injection | None
) -> store.Content:
    """An item's content with the error the job's injection draws for it, checked again
    (a repeat of an item shares its clean content; the error is the item's own)."""
    if injection is None:
        return content
    turns, kind = injection.apply(item.external_id, item.conversations, content.turns)
    if not kind:
        return content
    marked = content.checks.get("left_words_by") == "engine"  # what the engine marked, as found
    checks = run_checks(
        item.conversations, turns, source_lang=job.source_language, target_lang=job.target_language,
        left_words=content.checks.get("left_words") if marked else None,
    )  # fmt: skip
    return store.Content(turns, content.meta, checks, kind)


def _left_words(translated: ItemTranslation, usage: Usage) -> dict[str, tuple[str, ...]] | None:
    """The words the engine says it left untranslated in this item's segments, by language;
    None when the engine cannot tell."""
    if usage.left_words is None:
        return None
    left: dict[str, dict[str, None]] = {}
    for segment, _ in translated.engine_outputs():
        for lang, words in usage.left_words.get(segment, {}).items():
            left.setdefault(lang, {}).update(dict.fromkeys(words))
    return {lang: tuple(words) for lang, words in left.items()}


def _store(job: TranslationJob, rows: list[store.Row], result: _Translated, version: store.Version) -> None:
    """Write a checked batch with the job's progress, atomically."""
    n = len(rows) + len(result.failures)
    now = timezone.now()
    with transaction.atomic():
        store.write_rows(version, rows, result.seconds / n, result.tokens // n, now)
        updates = {
            "done": F("done") + len(rows),
            "heartbeat_at": now,
            "engine_seconds": F("engine_seconds") + result.seconds,
        }
        if result.failures:
            job.refresh_from_db(fields=["error_log"])
            updates["errors"] = F("errors") + len(result.failures)
            updates["error_log"] = (job.error_log + result.failures)[-ERROR_LOG_SIZE:]
            updates["total"] = F("total") - len(result.failures)  # failed items are reported, not waited for
        lifecycle.this_attempt(job).update(**updates)


def _translate_each(job: TranslationJob, engine: Engine, batch: list[store.PendingItem]) -> _Translated:
    """Translate a batch with `translate_items` (and back, for the round trip). If one
    item breaks the batch, isolate it so the others still translate."""
    started = time.perf_counter()
    try:
        forward, back = _translate(job, engine, batch)
    except EngineError:
        raise  # the engine itself is failing (server down after retries): stop the job
    except Exception:
        if len(batch) == 1:
            error = traceback.format_exc(limit=1).strip().splitlines()[-1]
            return _Translated(failures=[{"item": batch[0].external_id, "error": error}])
        merged = _Translated()
        for item in batch:
            one = _translate_each(job, engine, [item])
            merged.done += one.done
            merged.failures += one.failures
            merged.tokens += one.tokens
        merged.seconds = time.perf_counter() - started
        return merged
    tokens = (forward.usage.prompt_tokens or 0) + (forward.usage.completion_tokens or 0)
    backs = list(back) if back else [None] * len(batch)
    usages = [forward.usage] * len(batch)
    return _Translated(list(zip(batch, forward, backs, usages)), [], time.perf_counter() - started, tokens)


def _translate(job: TranslationJob, engine: Engine, batch: list[store.PendingItem]):
    sources = [ItemSource(item.conversations, item.meta, item.task_type) for item in batch]
    forward = translate_items(engine, sources, job.source_language, job.target_language)
    back = None
    if job.round_trip:
        # The round trip reads the text stored: with an injected error, if one is drawn.
        injection = Injection.from_options(job.options)
        stored = [
            injection.apply(item.external_id, item.conversations, t.conversations)[0] if injection else t.conversations
            for item, t in zip(batch, forward)
        ]
        back = translate_items(
            engine,
            [ItemSource(turns, {}, s.task_type) for turns, s in zip(stored, sources)],
            job.target_language,
            job.source_language,
        )
    return forward, back


def _finish(job: TranslationJob, state: str, message: str = "") -> None:
    lifecycle.finish(job, state, message=message)


def _remaining(job: TranslationJob) -> int:
    """Items left to translate, estimated before the engine is built (building an `hf`
    engine loads a model): the engine class's prompt version; the run uses the real one."""
    module_name, class_name = ENGINES[job.engine].split(":")
    prompt_version = getattr(importlib.import_module(module_name), class_name).prompt_version or ""
    pending = pending_items(job, prompt_version).count()
    return min(pending, job.limit) if job.limit else pending


def _request_options(engine: str, model: str, options: dict) -> dict:
    """A request's engine options, checked against the engine's declared `request_options`.

    What runs and where it connects never comes from here: apertium's program and data
    (APERTIUM_*), the OpenAI server (OPENAI_BASE_URL, or one of OPENAI_ALLOWED_BASE_URLS),
    a local model only under MODEL_ROOT (`_engine_arguments` adds them when the job runs).
    """
    declared = engine_class(engine)
    if not isinstance(options, dict):
        raise JobError(f"options must be an object, got {type(options).__name__}", field="options")
    allowed = {"base_url": [settings.OPENAI_BASE_URL, *settings.OPENAI_ALLOWED_BASE_URLS]}
    try:
        checked = check_options(engine, declared.request_options, options, allowed=allowed)
    except EngineOptionError as exc:
        raise JobError(str(exc), field=f"options.{exc.field}") from None
    if declared.local_model and model:
        root = Path(settings.MODEL_ROOT).resolve()
        try:
            inside = (root / model).resolve().is_relative_to(root)
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            raise JobError(f"{engine} model {model!r} must be a directory under MODEL_ROOT ({root})", field="model")
    return checked


def _engine_options(job: TranslationJob) -> dict:
    options = dict(job.options)
    if job.model:
        options["model"] = job.model
    if job.engine == "openai":
        options.setdefault("base_url", settings.OPENAI_BASE_URL)
        options.setdefault("model", settings.OPENAI_MODEL)
    return options


def _engine_arguments(job: TranslationJob) -> dict:
    """The engine's constructor arguments: the job's options (less the injected errors,
    which the job applies itself) plus what only settings decide."""
    arguments, _ = split_options(_engine_options(job))
    if job.engine == "apertium":
        arguments.update(executable=settings.APERTIUM_EXECUTABLE, datadir=settings.APERTIUM_DATADIR)
    elif engine_class(job.engine).local_model and job.model:
        arguments["model"] = str(Path(settings.MODEL_ROOT) / job.model)  # an absolute name stays as it is
    return arguments
