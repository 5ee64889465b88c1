"""Evaluation metrics for ScienceQA-IMG, TextVQA and POPE. Pure Python: no Django.

Where each behaviour lives:

- scienceqa.py   letter parsing (LLaVA eval_science_qa.py, lmms-eval scienceqa/utils.py)
- textvqa.py     EvalAI answer normalisation and VQA accuracy (LLaVA m4c_evaluator.py)
- pope.py        yes/no parsing and POPE metrics (LLaVA eval_pope.py, lmms-eval pope)
- french.py      French-aware variants of all three, reported separately
- parsers.py     what the parser names reference / lmms-eval / french mean
- bootstrap.py   seeded 95% bootstrap confidence intervals
- diagnostics.py flags for degenerate behaviour (yes-bias, one letter, ...)
- benchmarks.py  readers for the benchmark and prediction files
- scoring.py     ``score_files``, used by ``manage.py score``

docs/metrics.md explains each metric and where the references disagree.
"""

from __future__ import annotations

from evaluation.metrics.benchmarks import (
    BenchmarkFormatError,
    PopeItem,
    ScienceQAItem,
    TextVQAItem,
    read_pope,
    read_predictions,
    read_scienceqa,
    read_textvqa,
)
from evaluation.metrics.bootstrap import mean_ci, pope_ci
from evaluation.metrics.diagnostics import Flag, diagnose
from evaluation.metrics.parsers import PARSERS
from evaluation.metrics.scoring import BENCHMARKS, PredictionsMismatchError, score_files

__all__ = [
    "BENCHMARKS",
    "PARSERS",
    "BenchmarkFormatError",
    "Flag",
    "PopeItem",
    "PredictionsMismatchError",
    "ScienceQAItem",
    "TextVQAItem",
    "diagnose",
    "mean_ci",
    "pope_ci",
    "read_pope",
    "read_predictions",
    "read_scienceqa",
    "read_textvqa",
    "score_files",
]
