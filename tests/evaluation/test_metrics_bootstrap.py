"""95% bootstrap confidence intervals: seeded, and around the point estimate."""

from __future__ import annotations

import math

import pytest

from evaluation.metrics import mean_ci, pope, pope_ci


def test_mean_ci_brackets_the_mean_and_is_reproducible() -> None:
    scores = [1.0] * 70 + [0.0] * 30
    low, high = mean_ci(scores)
    assert low < 0.7 < high
    assert mean_ci(scores) == (low, high)
    # the normal approximation gives +/- 1.96 * sqrt(.7 * .3 / 100) = 0.09
    assert high - low == pytest.approx(0.18, abs=0.04)


def test_the_seed_changes_the_resamples() -> None:
    scores = [1.0] * 70 + [0.0] * 30
    assert mean_ci(scores, seed=1) != mean_ci(scores, seed=2)


def test_more_items_give_a_narrower_interval() -> None:
    small = mean_ci([1.0, 0.0] * 50)
    large = mean_ci([1.0, 0.0] * 5000)
    assert large[1] - large[0] < small[1] - small[0]


def test_constant_scores_have_a_zero_width_interval() -> None:
    assert mean_ci([1.0] * 20) == (1.0, 1.0)


def test_empty_input_has_no_interval() -> None:
    low, high = mean_ci([])
    assert math.isnan(low) and math.isnan(high)


def test_pope_f1_interval_resamples_items_and_recomputes_f1() -> None:
    predicted = ["yes"] * 40 + ["no"] * 10 + ["yes"] * 15 + ["no"] * 35
    labels = ["yes"] * 50 + ["no"] * 50
    point = pope.llava_metrics(predicted, labels)
    intervals = pope_ci(predicted, labels)
    for key in ("accuracy", "precision", "recall", "f1", "yes_ratio"):
        low, high = intervals[key]
        assert low <= point[key] <= high
    assert intervals == pope_ci(predicted, labels)


def test_pope_interval_follows_the_aggregation_it_is_given() -> None:
    # lmms-eval's yes-ratio counts labels: constant over resamples of a constant label
    intervals = pope_ci(["yes", "no."] * 10, ["yes"] * 20, pope.lmms_eval_metrics_from_counts)
    assert intervals["yes_ratio"] == (1.0, 1.0)
