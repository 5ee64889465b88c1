"""Seeded percentile-bootstrap confidence intervals.

Items are resampled with replacement and the statistic recomputed on each resample;
for a per-item score that is its mean, for POPE the whole set of metrics is
recomputed from the resampled (prediction, label) pairs (``pope_ci``), since
precision, recall and F1 are not means of item scores. The seed is fixed so a result
page shows the same interval every time it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from evaluation.metrics import pope

Interval = tuple[float, float]
_NO_INTERVAL: Interval = (float("nan"), float("nan"))
POPE_KEYS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "yes_ratio")


def _draws(n_items: int, resamples: int, seed: int) -> npt.NDArray[np.int64]:
    """One row of resampled item indices per bootstrap replicate."""
    return np.random.default_rng(seed).integers(0, n_items, size=(resamples, n_items))


def _percentiles(values: npt.ArrayLike, level: float) -> Interval:
    alpha = (1 - level) / 2
    low, high = np.quantile(np.asarray(values, dtype=float), [alpha, 1 - alpha])
    return (float(low), float(high))


def mean_ci(
    values: Sequence[float], *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Interval for the mean of a per-item score (accuracy, VQA accuracy)."""
    if len(values) == 0:
        return _NO_INTERVAL
    scores = np.asarray(values, dtype=float)
    means = scores[_draws(len(scores), resamples, seed)].mean(axis=1)
    return _percentiles(means, level)


def pope_ci(
    predicted: Sequence[str],
    labels: Sequence[str],
    metrics: Callable[[pope.PairCounts], pope.PopeMetrics] = pope.llava_metrics_from_counts,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Intervals for accuracy, precision, recall, F1 and yes-ratio of parsed answers.

    ``metrics`` is the aggregation the point estimate used (LLaVA's or lmms-eval's,
    from (prediction, label) pair counts), applied unchanged to each resample, so
    interval and estimate agree on every convention (zero divisions, lmms-eval's
    label-based yes-ratio). Resampling items is resampling their pairs, so each
    replicate only needs the pair counts: one bincount per row.
    """
    if len(predicted) != len(labels):
        raise ValueError("predictions and labels differ in length")
    if len(predicted) == 0:
        return {key: _NO_INTERVAL for key in POPE_KEYS}
    pairs = sorted(set(zip(predicted, labels, strict=True)))
    code = {pair: index for index, pair in enumerate(pairs)}
    codes = np.array([code[pair] for pair in zip(predicted, labels, strict=True)])
    sampled = codes[_draws(len(codes), resamples, seed)]
    offsets = np.arange(resamples)[:, None] * len(pairs)
    counts = np.bincount((sampled + offsets).ravel(), minlength=resamples * len(pairs))
    samples = [
        metrics({pairs[i]: int(row[i]) for i in np.flatnonzero(row)})
        for row in counts.reshape(resamples, len(pairs))
    ]
    return {
        key: _percentiles([sample[key] for sample in samples], level)  # type: ignore[literal-required]
        for key in POPE_KEYS
    }
