"""Estimates: what the graded sample says about the whole dataset.

Wilson values are checked against numbers worked by hand from the formula, the
stratified interval against its documented formula and by simulation (it must cover
the true share about 95% of the time), the sample-size helper against the classic
"1068 for +-3 points at 95%".
"""

from __future__ import annotations

import math
import random

import pytest

from audit.estimates import (
    Stratum,
    ShareEstimate,
    extrapolate,
    grade_shares,
    items_still_needed,
    share_estimate,
    usable_share,
    wilson_interval,
    z_value,
)

# By hand, 95%: z = 1.959964, z^2 = 3.841459, n = 10, 1 + z^2/n = 1.3841459.
# 0/10: centre = (0 + z^2/20) / 1.3841459 = 0.192073 / 1.3841459 = 0.138767,
#       half = (z / 1.3841459) * sqrt(0 + z^2/400) = 1.416010 * 0.0979982 = 0.138767 -> (0, 0.277533).
# 5/10: centre = 0.5, half = 1.416010 * sqrt(0.025 + 0.0096036) = 1.416010 * 0.186021 = 0.263407
#       -> (0.236593, 0.763407).
# 10/10 mirrors 0/10 -> (0.722467, 1).
HAND_WORKED = [(0, (0.0, 0.277533)), (5, (0.236593, 0.763407)), (10, (0.722467, 1.0))]


@pytest.mark.parametrize(("successes", "expected"), HAND_WORKED)
def test_wilson_interval_hand_worked(successes: int, expected: tuple[float, float]) -> None:
    low, high = wilson_interval(successes, 10)
    assert low == pytest.approx(expected[0], abs=1e-6)
    assert high == pytest.approx(expected[1], abs=1e-6)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    narrow, wide = wilson_interval(5, 10, 0.90), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(5, 10, confidence=95)


def test_grade_shares_without_population_are_plain_wilson() -> None:
    shares = grade_shares([Stratum("all", None, {"high": 60, "moderate": 25, "low": 15})])
    assert list(shares) == ["high", "moderate", "low"]
    for grade, count in (("high", 60), ("moderate", 25), ("low", 15)):
        low, high = wilson_interval(count, 100)
        assert shares[grade].estimate == pytest.approx(count / 100)
        assert (shares[grade].low, shares[grade].high) == (pytest.approx(low), pytest.approx(high))


def test_finite_population_narrows_the_interval_and_closes_it_when_all_is_graded() -> None:
    counts = {"high": 60, "moderate": 25, "low": 15}
    infinite = share_estimate([Stratum("all", None, counts)], ["high"])
    half = share_estimate([Stratum("all", 200, counts)], ["high"])
    everything = share_estimate([Stratum("all", 100, counts)], ["high"])
    assert half.high - half.low < infinite.high - infinite.low
    assert half.effective_n == pytest.approx(100 / (1 - 100 / 200))
    assert (everything.low, everything.estimate, everything.high) == (0.6, 0.6, 0.6)


def test_stratified_estimate_weights_strata_by_population_not_by_sample() -> None:
    # 80 of 100 graded items come from a small stratum: the pooled share (0.1) would be wrong.
    strata = [Stratum("big", 9000, {"high": 10, "low": 10}), Stratum("small", 1000, {"low": 80})]
    result = share_estimate(strata, ["high"])
    assert result.estimate == pytest.approx(0.9 * 0.5 + 0.1 * 0.0)
    assert (result.observed, result.graded) == (10, 100)
    # Kish effective size from the stratified variance with FPC (below the design cap here).
    variance = 0.9**2 * (1 - 20 / 9000) * 0.25 / 20
    design = 1 / (0.9**2 * (1 - 20 / 9000) / 20 + 0.1**2 * (1 - 80 / 1000) / 80)
    n_eff = 0.45 * 0.55 / variance
    assert n_eff < design
    assert result.effective_n == pytest.approx(n_eff)
    z = 1.959964
    centre = (0.45 + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * math.sqrt(0.45 * 0.55 / n_eff + z * z / (4 * n_eff**2))
    assert (result.low, result.high) == (pytest.approx(centre - half, abs=1e-6), pytest.approx(centre + half, abs=1e-6))


def test_all_or_nothing_strata_do_not_claim_certainty() -> None:
    strata = [Stratum("a", 5000, {"high": 10}), Stratum("b", 5000, {"low": 10})]
    result = share_estimate(strata, ["high"])
    assert result.estimate == pytest.approx(0.5)
    assert result.high - result.low > 0.3


def test_stratified_interval_covers_the_true_share_about_95_percent() -> None:
    rng = random.Random(7)
    populations = {"captions": (6000, 0.7), "counting": (3000, 0.4), "reading": (1000, 0.15)}
    sample_sizes = {"captions": 30, "counting": 30, "reading": 40}  # deliberately disproportionate
    frames = {name: ["high"] * round(n * p) + ["low"] * (n - round(n * p)) for name, (n, p) in populations.items()}
    truth = sum(frame.count("high") for frame in frames.values()) / 10000
    covered = 0
    runs = 1500
    for _ in range(runs):
        strata = []
        for name, frame in frames.items():
            sample = rng.sample(frame, sample_sizes[name])
            strata.append(Stratum(name, len(frame), {"high": sample.count("high"), "low": sample.count("low")}))
        result = share_estimate(strata, ["high"])
        covered += result.low <= truth <= result.high
    assert 0.93 <= covered / runs <= 0.99


def test_stratum_without_grades_gives_no_estimate_with_a_reason() -> None:
    result = share_estimate([Stratum("a", 100, {"high": 5}), Stratum("b", 50, {})], ["high"])
    assert result.estimate is None and (result.low, result.high) == (0.0, 1.0)
    assert result.reason and "'b'" in result.reason


def test_invalid_strata_are_refused_with_the_stratum_named() -> None:
    with pytest.raises(ValueError, match="'a'.*12 graded"):
        share_estimate([Stratum("a", 10, {"high": 12})], ["high"])
    with pytest.raises(ValueError, match="'b' has no population"):
        share_estimate([Stratum("a", 10, {"high": 1}), Stratum("b", None, {"high": 1})], ["high"])
    with pytest.raises(ValueError, match="'great'"):
        share_estimate([Stratum("a", 10, {"great": 1})], ["high"])


def test_usable_share_follows_the_filter_rule() -> None:
    strata = [Stratum("all", None, {"high": 60, "moderate": 25, "low": 15})]
    assert usable_share(strata, "high").estimate == pytest.approx(0.60)
    keep_more = usable_share(strata, "high+moderate")
    assert keep_more.estimate == pytest.approx(0.85)
    assert (keep_more.low, keep_more.high) == tuple(pytest.approx(b) for b in wilson_interval(85, 100))
    with pytest.raises(ValueError, match="unknown rule"):
        usable_share(strata, "moderate")


def test_extrapolated_counts_stay_within_what_the_sample_proves() -> None:
    share = usable_share([Stratum("all", None, {"high": 60, "moderate": 25, "low": 15})], "high")
    count = extrapolate(share, 10_000)
    assert count.estimate == 6000
    assert count.low == math.floor(10_000 * share.low) and count.high == math.ceil(10_000 * share.high)
    # A wide interval on a small population: at least the 9 graded high, at most N minus the 1 graded low.
    tiny = ShareEstimate(0.9, 0.55, 0.99, observed=9, graded=10, effective_n=10)
    assert (extrapolate(tiny, 12).low, extrapolate(tiny, 12).high) == (9, 11)
    with pytest.raises(ValueError):
        extrapolate(tiny, 5)


def test_items_still_needed_for_a_margin() -> None:
    assert items_still_needed(0.03) == 1068  # 1.96^2 * 0.25 / 0.03^2 = 1067.07
    assert items_still_needed(0.03, population=10_000) == 965  # 10000 * 1067.07 / (9999 + 1067.07)
    assert items_still_needed(0.03, graded=400, population=10_000) == 565
    assert items_still_needed(0.03, graded=2000) == 0
    # A share clearly near 10% needs fewer items than the worst case, but not trust in 3 items.
    assert items_still_needed(0.03, graded=500, successes=50) < 1068 - 500
    assert items_still_needed(0.03, graded=3, successes=0) == 1068 - 3
    assert items_still_needed(0.05, confidence=0.99) > items_still_needed(0.05)
    assert items_still_needed(0.03, population=50, graded=50) == 0
