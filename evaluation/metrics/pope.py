"""POPE yes/no parsing and its accuracy, precision, recall, F1 and yes-ratio.

``reference`` - LLaVA's llava/eval/eval_pope.py ``eval_pope``:
  keep the text before the first "." (if there is one), delete commas, split on a
  single space (not on whitespace), and answer "no" when the words contain "No",
  "not" or "no" - case-sensitive, so "NO" and "Not really" count as yes; anything
  else is "yes" (an empty answer too). Labels: "no" is negative, anything else
  positive. Yes-ratio is the share of *predictions* that are yes. Where LLaVA would
  divide by zero (no predicted or no actual positives) we return 0.0, as lmms-eval
  does, instead of crashing.

``lmms-eval`` - lmms_eval/tasks/pope/utils.py ``pope_process_results`` and the
  ``pope_aggregate_*`` functions, as of lmms-eval main at ``parsers.LMMS_EVAL_COMMIT``
  (the file last changed in 9596fbd, 2025-04-18, prompts only; the scoring is as in
  5a4cd11, 2024-01-23). There is no first-word or yes/no-substring rule: the
  prediction is only ``lower().strip()``-ed and
  compared with the label, so "Yes, there is a dog." is neither yes nor no: it is
  wrong for accuracy and left out of every precision/recall count. Its
  ``pope_aggregate_yes_ratio`` counts the *ground-truth* labels, not the predictions;
  we reproduce that (it is what lmms-eval reports) - the prediction yes-share that
  the diagnostics need comes from ``prediction_yes_share``.

Neither parser understands French: LLaVA's reads "Non." as yes (no "No"/"no"/"not"
word), which is why ``evaluation.metrics.french`` exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypedDict

YesNo = Literal["yes", "no"]
PairCounts = Mapping[tuple[str, str], int]


class PopeMetrics(TypedDict):
    accuracy: float
    precision: float
    recall: float
    f1: float
    yes_ratio: float
    n: int


def parse_llava(text: str) -> YesNo:
    """eval_pope.py's reading of one answer."""
    if text.find(".") != -1:
        text = text.split(".")[0]
    text = text.replace(",", "")
    words = text.split(" ")
    if "No" in words or "not" in words or "no" in words:
        return "no"
    return "yes"


def parse_lmms_eval(text: str) -> str:
    """pope_process_results' prediction: lower-cased and stripped, nothing more."""
    return text.lower().strip()


def _ratio(numerator: float, denominator: float) -> float:
    """Division that answers 0.0 where the denominator is 0 (lmms-eval's convention)."""
    return numerator / denominator if denominator > 0 else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def llava_metrics(predicted: Sequence[str], labels: Sequence[str]) -> PopeMetrics:
    """eval_pope.py's metrics: a prediction is positive unless it is "no"."""
    return llava_metrics_from_counts(pair_counts(predicted, labels))


def lmms_eval_metrics(predicted: Sequence[str], labels: Sequence[str]) -> PopeMetrics:
    """lmms-eval's pope_aggregate_* over already lower-cased, stripped predictions."""
    return lmms_eval_metrics_from_counts(pair_counts(predicted, labels))


def pair_counts(predicted: Sequence[str], labels: Sequence[str]) -> PairCounts:
    """How often each (prediction, label) pair occurs: all either aggregation needs."""
    if len(predicted) != len(labels):
        raise ValueError("predictions and labels differ in length")
    return Counter(zip(predicted, labels, strict=True))


def llava_metrics_from_counts(counts: PairCounts) -> PopeMetrics:
    """eval_pope.py's TP/FP/TN/FN arithmetic ("no" -> 0, anything else -> 1)."""
    tp = fp = tn = fn = 0
    for (pred, label), count in counts.items():
        positive, actual = pred != "no", label != "no"
        if positive and actual:
            tp += count
        elif positive:
            fp += count
        elif not actual:
            tn += count
        else:
            fn += count
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    total = tp + tn + fp + fn
    return PopeMetrics(
        accuracy=_ratio(tp + tn, total),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        yes_ratio=_ratio(tp + fp, total),
        n=total,
    )


def lmms_eval_metrics_from_counts(counts: PairCounts) -> PopeMetrics:
    """pope_aggregate_accuracy/precision/recall/f1_score/yes_ratio."""
    total = sum(counts.values())

    def count(test: Callable[[str, str], bool]) -> int:
        return sum(n for (pred, label), n in counts.items() if test(pred, label))

    tp = count(lambda p, g: g == "yes" and p == "yes")
    fp = count(lambda p, g: g == "no" and p == "yes")
    fn = count(lambda p, g: g == "yes" and p == "no")
    yes, no = count(lambda p, g: g == "yes"), count(lambda p, g: g == "no")
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return PopeMetrics(
        accuracy=_ratio(count(lambda p, g: p == g), total),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        yes_ratio=_ratio(yes, yes + no),  # sic: ground-truth labels, see module doc
        n=total,
    )


def prediction_yes_share(predicted: Sequence[str]) -> float:
    """Share of predictions that read "yes" - the model's own yes-ratio."""
    return _ratio(sum(1 for p in predicted if p == "yes"), len(predicted))
