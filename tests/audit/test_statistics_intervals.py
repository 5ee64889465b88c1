"""Bootstrap 95% intervals on the agreement statistics, and the line that says how to read them (pure)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audit import agreement
from audit.agreement_intervals import (
    alpha_from_coincidences, alpha_interval, cohen_kappa_interval, fleiss_interval, kappa_band, kappa_from_tables,
    kappa_interval, read_alpha, read_kappa,
)  # fmt: skip

GRADES = agreement.GRADES
# A population of translations graded by two annotators: rows = first grade, columns = second (low, moderate, high).
POPULATION = np.array([[0.10, 0.04, 0.01], [0.05, 0.20, 0.07], [0.02, 0.06, 0.45]])


def sample_pairs(rng, n, population=POPULATION):
    table = rng.multinomial(n, population.ravel()).reshape(3, 3)
    return [(GRADES[i], GRADES[j]) for i in range(3) for j in range(3) for _ in range(table[i, j])]


def as_ratings(pairs):
    return [(item, who, grade) for item, pair in enumerate(pairs) for who, grade in zip(("a", "b"), pair)]


def test_the_vectorised_formulas_give_the_agreement_module_values():
    rng = np.random.default_rng(1)
    for _ in range(20):
        pairs = sample_pairs(rng, 60)
        table = np.array(agreement.confusion_matrix(pairs))
        assert kappa_from_tables(table) == pytest.approx(agreement.weighted_kappa(pairs).value)
        ratings = as_ratings(pairs) + [(1000, "c", "low"), (1000, "a", "high"), (1000, "b", "high")]
        coincidences = np.zeros((3, 3))
        for ranks in agreement.grades_by_item(ratings).values():
            row = np.bincount(list(ranks.values()), minlength=3)
            coincidences += (np.outer(row, row) - np.diag(row)) / (row.sum() - 1)
        assert alpha_from_coincidences(coincidences) == pytest.approx(agreement.krippendorff_alpha(ratings).value)


def test_the_interval_is_deterministic_for_a_seed_and_surrounds_the_estimate():
    pairs = sample_pairs(np.random.default_rng(2), 200)
    first, again = kappa_interval(pairs, seed=7), kappa_interval(pairs, seed=7)
    assert first == again and first.resamples == 1000
    other = kappa_interval(pairs, seed=8)
    assert other != first and abs(other.low - first.low) < 0.03
    value = agreement.weighted_kappa(pairs).value
    assert first.low < value < first.high
    ratings = as_ratings(pairs)
    assert cohen_kappa_interval(ratings, "a", "b", seed=7) == first
    alpha = alpha_interval(ratings)
    assert alpha.low < agreement.krippendorff_alpha(ratings).value < alpha.high
    fleiss = fleiss_interval(ratings, 2)
    assert fleiss.low < agreement.fleiss_kappa(ratings, 2).value < fleiss.high


def test_four_times_the_items_halve_the_width():
    rng = np.random.default_rng(3)
    small, large = kappa_interval(sample_pairs(rng, 250)), kappa_interval(sample_pairs(rng, 1000))
    ratio = (large.high - large.low) / (small.high - small.low)
    assert 0.4 < ratio < 0.6


@pytest.mark.parametrize("statistic", ["kappa", "alpha"])
def test_the_95_percent_interval_covers_the_population_value_about_95_percent_of_the_time(statistic):
    rng = np.random.default_rng(4)
    if statistic == "kappa":
        truth = float(kappa_from_tables(POPULATION))
    else:  # with two annotators the population coincidences are P + P^T (n large: no n-1 correction)
        truth = float(alpha_from_coincidences((POPULATION + POPULATION.T) * 1e9))
    trials, covered = 300, 0
    for trial in range(trials):
        pairs = sample_pairs(rng, 120)
        interval = kappa_interval(pairs, seed=trial) if statistic == "kappa" else alpha_interval(as_ratings(pairs), seed=trial)
        covered += interval.low <= truth <= interval.high
    # Binomial(300, 0.95) lies in 270..295 with probability > 0.999; the percentile
    # bootstrap undercovers slightly at n = 120, hence the lower bound of 0.90.
    assert 0.90 * trials <= covered <= 0.985 * trials


def test_no_interval_without_enough_items_or_any_disagreement_to_measure():
    assert kappa_interval([("high", "low")]).reason == "fewer than two items graded by both"
    same = kappa_interval([("high", "high")] * 30)
    assert same.low is None and "undefined in 1000 of 1000 resamples" in same.reason
    assert alpha_interval([(1, "a", "high")]).low is None
    assert fleiss_interval(as_ratings([("high", "low")] * 5), 3).reason == "fewer than two items with exactly 3 grades"


def test_a_thousand_resamples_of_ten_thousand_items_take_milliseconds():
    pairs = sample_pairs(np.random.default_rng(5), 10_000)
    ratings = as_ratings(pairs)
    start = time.perf_counter()
    kappa_interval(pairs)
    alpha_interval(ratings)
    fleiss_interval(ratings, 2)
    assert time.perf_counter() - start < 2.0  # mostly the grouping of 20,000 ratings; measured ~0.1 s


def test_kappa_reads_as_its_landis_and_koch_band():
    assert [kappa_band(v) for v in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "poor", "slight", "fair", "moderate", "substantial", "almost perfect"]  # fmt: skip
    from audit.agreement_intervals import Interval

    assert read_kappa(0.7, Interval(0.62, 0.78, 1000)) == "substantial agreement (Landis & Koch); the whole interval reads the same"
    assert read_kappa(0.7, Interval(0.45, 0.85, 1000)) == (
        "substantial agreement (Landis & Koch); the interval runs from moderate to almost perfect")
    assert read_kappa(None) == ""


def test_alpha_reads_as_reliable_tentative_or_unreliable():
    from audit.agreement_intervals import Interval

    assert read_alpha(0.85).startswith("reliable (α ≥ 0.800)")
    assert read_alpha(0.7, Interval(0.6, 0.81, 1000)) == (
        "tentative conclusions only (0.667 ≤ α < 0.800); the interval runs from unreliable to reliable")
    assert read_alpha(0.5).startswith("unreliable (α < 0.667)")
