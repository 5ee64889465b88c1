"""Running an evaluation: claim the row, answer in batches, score with every parser.

`run_evaluation` claims the run with a conditional update (queued, or running with a
stale heartbeat) so a redelivered Celery message never runs it twice, skips the
questions that already have a Prediction (a resumed run answers only the rest), and
stores each batch's answers with the run's progress in one transaction. Between
batches it checks `cancel_requested`. At the end it writes the predictions JSONL and
scores it with score_files under each parser (reference, lmms-eval, french; and the
English answers of a translation-only run against the English benchmark).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs import lifecycle
from jobs.lifecycle import heartbeat

from .benchmark_prompts import BenchItem, english_texts, prompt, with_english, write_references
from .metrics import parsers, read_predictions, read_scienceqa, score_files
from .models import EvaluationRun, JobState, Prediction
from .services import PARSER_KEYS, Source, english_file, find_source, load_items, model_directory, model_root

log = logging.getLogger(__name__)


def run_directory(run: EvaluationRun) -> Path:
    return model_root() / "evaluations" / str(run.pk)


def run_evaluation(run_id: int) -> EvaluationRun:
    """Run to the end (inline or in the Celery task); a run another worker holds is left alone."""
    rows = EvaluationRun.objects.select_related("training_job", "dataset", "snapshot")
    claimed, run = lifecycle.claim(rows, run_id)
    if not claimed:
        log.info("evaluation run %s is %s; not running it", run_id, run.state)
        return run
    mine = lambda: lifecycle.this_attempt(run)  # noqa: E731
    try:
        with heartbeat(mine, name=f"evaluation-run-{run_id}"):
            answered = _answer_all(run)
            if answered:
                _score(run)
        _finish(run, JobState.DONE if answered else JobState.CANCELLED)
    except Exception as exc:  # the run page shows it; the worker lives on
        log.exception("evaluation run %s failed", run_id)
        tail = "".join(traceback.format_exception(exc)[-3:])
        _finish(run, JobState.FAILED, f"{type(exc).__name__}: {exc}\n\n{tail}")
    run.refresh_from_db()
    return run


def _source(run: EvaluationRun) -> Source:
    return find_source(run.benchmark, run.split, run.language, run.snapshot)


def _answer_all(run: EvaluationRun) -> bool:
    """Answer every question without a Prediction; False when cancelled on the way."""
    from training.presets import load_model

    from .generate import generate_answers

    source = _source(run)
    items = load_items(run.benchmark, run.split, source, run.limit)
    done = set(Prediction.objects.filter(run=run).values_list("question_id", flat=True))
    pending = [item for item in items if item.question_id not in done]
    EvaluationRun.objects.filter(pk=run.pk).update(total=len(items), done=len(done))
    if not pending:
        return True
    model, processor = load_model(model_directory(run))
    engine = _engine(run)
    started, answered = time.monotonic(), 0
    for start in range(0, len(pending), run.batch_size):
        if EvaluationRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            return False
        batch = pending[start : start + run.batch_size]
        asked = batch
        if engine is not None:
            from translation.inference import questions_to_english

            asked = with_english(run.benchmark, batch, questions_to_english(engine, english_texts(run.benchmark, batch)))
        language = "en" if engine is not None else run.language
        questions = [prompt(run.benchmark, item, language) for item in asked]
        answers = generate_answers(
            model, processor, [(source.image_root / item.image, q) for item, q in zip(asked, questions, strict=True)],
            max_new_tokens=run.max_new_tokens, batch_size=run.batch_size,
        )  # fmt: skip
        rows = _predictions(run, batch, questions, answers, engine)
        answered += len(rows)
        _store(run, rows, answered / max(time.monotonic() - started, 1e-9))
    return True


def _engine(run: EvaluationRun) -> Any:
    if run.pipeline != EvaluationRun.Pipeline.TRANSLATION_ONLY:
        return None
    from translation.engines import get_engine

    return get_engine(run.engine)


def _predictions(run: EvaluationRun, batch: list[BenchItem], questions: list[str], answers: list[str], engine: Any) -> list[Prediction]:
    if engine is None:
        return [Prediction(run=run, question_id=i.question_id, question=q, prediction=a) for i, q, a in zip(batch, questions, answers, strict=True)]
    from translation.inference import answers_to_french

    french = answers_to_french(engine, answers, run.language)
    return [
        Prediction(run=run, question_id=i.question_id, question=q, prediction=f, english_prediction=a)
        for i, q, a, f in zip(batch, questions, answers, french, strict=True)
    ]


@transaction.atomic
def _store(run: EvaluationRun, rows: list[Prediction], items_per_s: float) -> None:
    # ignore_conflicts: a stale-claimed run's old worker may write the same batch once more.
    Prediction.objects.bulk_create(rows, ignore_conflicts=True)
    EvaluationRun.objects.filter(pk=run.pk).update(
        done=Prediction.objects.filter(run=run).count(), heartbeat_at=timezone.now(), items_per_s=items_per_s
    )


def _finish(run: EvaluationRun, state: str, message: str = "") -> None:
    lifecycle.finish(run, state, message=message)


# --- scoring ------------------------------------------------------------------------------------


def write_predictions(run: EvaluationRun, path: Path, *, english: bool = False) -> Path:
    """JSON lines {"question_id", "prediction", ...}: what read_predictions and `manage.py score` read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for qid, question, answer, english_answer in Prediction.objects.filter(run=run).values_list(
            "question_id", "question", "prediction", "english_prediction"
        ).iterator():
            record: dict[str, Any] = {"question_id": qid, "prediction": english_answer if english else answer}
            if not english and run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY:
                record["english_prediction"] = english_answer
            record["question"] = question
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _score(run: EvaluationRun) -> None:
    source = _source(run)
    ids = [item.question_id for item in load_items(run.benchmark, run.split, source, run.limit)]
    folder = run_directory(run)
    predictions = write_predictions(run, folder / "predictions.jsonl")
    suffix = ".jsonl" if run.benchmark == "pope" else ".json"
    references = write_references(run.benchmark, source.path, ids, folder / f"references{suffix}")
    metrics: dict[str, Any] = {}
    for parser, key in PARSER_KEYS.items():
        metrics[key] = score_files(run.benchmark, references, predictions, parser, expected_language=run.language)
    if run.benchmark == "scienceqa":
        metrics["reference"]["groups"] = scienceqa_groups(references, predictions)
    if run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY:
        english_refs = write_references(
            run.benchmark, english_file(source.dataset, run.benchmark, run.split), ids, folder / f"references.en{suffix}"
        )
        english_preds = write_predictions(run, folder / "predictions.en.jsonl", english=True)
        metrics["english"] = score_files(run.benchmark, english_refs, english_preds, parsers.REFERENCE, expected_language="en")
    EvaluationRun.objects.filter(pk=run.pk).update(
        metrics=metrics, diagnostics=diagnostics(metrics),
        predictions_file=str(predictions.relative_to(model_root())), references=str(source.path),
    )  # fmt: skip


def diagnostics(metrics: dict[str, Any]) -> list[dict[str, str]]:
    """Each flag once, with the parsers that raised it (reference first)."""
    seen: dict[str, dict[str, Any]] = {}
    for key, result in metrics.items():
        for flag in result.get("flags", []):
            entry = seen.setdefault(flag["code"], {**flag, "parsers": []})
            entry["parsers"].append(key)
    return list(seen.values())


def scienceqa_groups(references: Path, predictions: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Reference accuracy per subject and per category (where the records name them)."""
    answers = read_predictions(predictions)
    groups: dict[str, dict[str, list[float]]] = {"subject": defaultdict(list), "category": defaultdict(list)}
    for item in read_scienceqa(references):
        score = parsers.scienceqa_scores([answers[item.id].strip()], [item.answer], [len(item.choices)])[0]
        for field in ("subject", "category"):
            if getattr(item, field):
                groups[field][getattr(item, field)].append(score)
    return {
        field: {name: {"accuracy": sum(v) / len(v), "n": len(v)} for name, v in sorted(values.items())}
        for field, values in groups.items()
        if values
    }
