"""Score a predictions file against a benchmark file: the core of ``manage.py score``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.metrics import bootstrap, diagnostics, parsers, pope
from evaluation.metrics.benchmarks import (
    BenchmarkFormatError,
    read_pope,
    read_predictions,
    read_scienceqa,
    read_textvqa,
)

BENCHMARKS: tuple[str, ...] = ("scienceqa", "textvqa", "pope")
_SHOWN_IDS = 5


class PredictionsMismatchError(BenchmarkFormatError):
    """The predictions do not cover exactly the benchmark's questions."""


def _describe(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(qid) for qid in ids[:_SHOWN_IDS])
    more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
    return f"{len(ids)} ({shown}{more})"


def _aligned(
    ids: Sequence[str], references: Path, predictions: Path
) -> list[str]:
    """The prediction for each benchmark question, in benchmark order.

    Predictions are stripped of surrounding whitespace: both references score text
    their generation code has already stripped (LLaVA's model_vqa_loader.py and
    model_vqa_science.py, lmms-eval's model wrappers), and LLaVA's parsers are
    whitespace-sensitive ("B" is an answer, " B" is not).
    """
    by_id = read_predictions(predictions)
    known = set(ids)
    unknown = [qid for qid in by_id if qid not in known]
    missing = [qid for qid in ids if qid not in by_id]
    problems = []
    if unknown:
        problems.append(f"{_describe(unknown)} question ids not in {references}")
    if missing:
        problems.append(f"no prediction for {_describe(missing)} questions of {references}")
    if problems:
        raise PredictionsMismatchError(f"{predictions}: " + "; ".join(problems))
    return [by_id[qid].strip() for qid in ids]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _pope_result(texts: Sequence[str], labels: Sequence[str], parser: str) -> dict[str, Any]:
    metrics = parsers.pope_scores(texts, labels, parser)
    parse = parsers.pope_answer_parser(parser)
    aggregate = (
        pope.lmms_eval_metrics_from_counts
        if parser == parsers.LMMS_EVAL
        else pope.llava_metrics_from_counts
    )
    intervals = bootstrap.pope_ci([parse(t) for t in texts], labels, aggregate)
    return {**metrics, "ci95": intervals}


def score_files(
    benchmark: str,
    references: Path,
    predictions: Path,
    parser: str = parsers.REFERENCE,
    *,
    expected_language: str | None = None,
) -> dict[str, Any]:
    """Metrics of a predictions file (JSON lines ``{"question_id", "prediction"}``).

    Returns ``accuracy`` and ``n`` (POPE: ``accuracy``, ``precision``, ``recall``,
    ``f1``, ``yes_ratio``, ``n``), plus ``ci95`` (95% bootstrap intervals of each
    metric), ``flags`` (diagnostics.py) and, for a POPE file whose records carry a
    ``category``, ``splits`` with the same metrics per split. ScienceQA questions are
    identified by the record's ``id``. ``parser`` is reference, lmms-eval or french
    (parsers.py). Raises ``BenchmarkFormatError`` (or its subclass
    ``PredictionsMismatchError``) naming the file and the record at fault.
    """
    parsers.check_parser(parser)
    references, predictions = Path(references), Path(predictions)
    result: dict[str, Any]
    if benchmark == "scienceqa":
        sqa_items = read_scienceqa(references)
        texts = _aligned([item.id for item in sqa_items], references, predictions)
        scores = parsers.scienceqa_scores(
            texts,
            [item.answer for item in sqa_items],
            [len(item.choices) for item in sqa_items],
            parser,
        )
        result = {"accuracy": _mean(scores), "n": len(scores)}
        result["ci95"] = {"accuracy": bootstrap.mean_ci(scores)}
    elif benchmark == "textvqa":
        vqa_items = read_textvqa(references)
        if parser == parsers.REFERENCE:
            for item in vqa_items:
                if len(item.answers) != 10:
                    raise BenchmarkFormatError(
                        f"{references}: question_id {item.question_id!r} has "
                        f"{len(item.answers)} answers; the reference (m4c) scorer needs "
                        "exactly 10 (the lmms-eval parser accepts any number)"
                    )
        if parser == parsers.LMMS_EVAL:
            for item in vqa_items:
                if not item.answers:
                    raise BenchmarkFormatError(
                        f"{references}: question_id {item.question_id!r} has no "
                        "answers; lmms-eval's textvqa scorer needs at least one"
                    )
        texts = _aligned([item.question_id for item in vqa_items], references, predictions)
        scores = parsers.textvqa_scores(texts, [item.answers for item in vqa_items], parser)
        result = {"accuracy": _mean(scores), "n": len(scores)}
        result["ci95"] = {"accuracy": bootstrap.mean_ci(scores)}
    elif benchmark == "pope":
        pope_items = read_pope(references)
        texts = _aligned([item.question_id for item in pope_items], references, predictions)
        labels = [item.label for item in pope_items]
        result = _pope_result(texts, labels, parser)
        categories = sorted({item.category for item in pope_items if item.category})
        if categories:
            result["splits"] = {
                category: _pope_result(
                    [
                        text
                        for text, item in zip(texts, pope_items, strict=True)
                        if item.category == category
                    ],
                    [item.label for item in pope_items if item.category == category],
                    parser,
                )
                for category in categories
            }
    else:
        raise ValueError(
            f"unknown benchmark {benchmark!r}; expected one of {', '.join(BENCHMARKS)}"
        )
    result["flags"] = diagnostics.diagnose(
        benchmark, texts, parser=parser, expected_language=expected_language
    )
    return result
