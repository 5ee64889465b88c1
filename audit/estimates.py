"""What the audit sample says about the whole dataset (pure Python, no Django).

The audit grades a sample; reviewers need the share of high / moderate / low in the
full dataset, how many pairs that makes, how many are fit for training, and how many
more grades would make the figure precise enough. All intervals are Wilson score
intervals, which stay inside [0, 1] and behave at 0/n and n/n where the textbook
normal interval collapses to a point. docs/audit-statistics.md explains the choices.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from audit.agreement import GRADES, grade_rank

DEFAULT_CONFIDENCE = 0.95

USABLE_RULES: dict[str, tuple[str, ...]] = {
    "high": ("high",),
    "high+moderate": ("high", "moderate"),
}
"""Filter rules for training data: which final grades a rule keeps."""


def z_value(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Two-sided standard normal quantile: 1.96 for 95%."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson bounds for an observed share p on a (possibly effective, fractional) n."""
    if n == 0:
        return 0.0, 1.0  # nothing observed: every share is possible
    if math.isinf(n):
        return p, p  # the whole population was graded: the share is known
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At p = 0 (or 1) the bound is exactly 0 (or 1); float rounding would leave 1e-17.
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def wilson_interval(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for successes/n; (0, 1) when n is 0.

    (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = successes/n.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    return _wilson(successes / n if n else 0.0, n, z_value(confidence))


@dataclass(frozen=True)
class Stratum:
    """One stratum of the audit sample: its size in the dataset and the grades counted.

    ``population`` (N_h) is the number of translations in the stratum; None means
    "much larger than the sample" and is accepted only for a single stratum.
    ``counts`` maps grade -> number of graded translations with that final grade.
    """

    name: str
    population: int | None
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def graded(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ShareEstimate:
    """An estimated share of the dataset with its interval.

    ``observed`` and ``graded`` are raw sample counts (the share's numerator and
    denominator before weighting); ``effective_n`` is the sample size the interval
    was computed on (see share_estimate). ``estimate`` is None, with ``reason``, when
    the sample cannot support one; the interval is then (0, 1).
    """

    estimate: float | None
    low: float
    high: float
    observed: int
    graded: int
    effective_n: float
    reason: str | None = None


def _check(strata: Sequence[Stratum]) -> None:
    if not strata:
        raise ValueError("no stratum given")
    for stratum in strata:
        for grade, count in stratum.counts.items():
            grade_rank(grade, where=f"stratum {stratum.name!r}")
            if count < 0:
                raise ValueError(f"stratum {stratum.name!r}: negative count {count} for {grade!r}")
        if stratum.population is None:
            if len(strata) > 1:
                raise ValueError(f"stratum {stratum.name!r} has no population size; weights need every N_h")
        elif stratum.graded > stratum.population:
            raise ValueError(
                f"stratum {stratum.name!r}: {stratum.graded} graded but only {stratum.population} in the population"
            )


def share_estimate(
    strata: Sequence[Stratum], grades: Collection[str], confidence: float = DEFAULT_CONFIDENCE
) -> ShareEstimate:
    """Share of the dataset whose final grade is one of ``grades``, over one or more strata.

    Point estimate: p = sum_h W_h p_h with W_h = N_h / N (a stratum sampled more
    heavily than its size does not pull the estimate towards itself).
    Interval: Wilson on an effective sample size. The stratified variance with finite
    population correction is v = sum_h W_h^2 (1 - n_h/N_h) p_h (1 - p_h) / n_h, and
    n_eff = p (1 - p) / v (Kish), truncated at the design's own size
    n_design = 1 / sum_h W_h^2 (1 - n_h/N_h) / n_h (the n_eff when every stratum had
    the same share). The truncation keeps small, all-or-nothing strata (v = 0) from
    claiming certainty, as Korn & Graubard truncate at n. With one stratum this is
    exactly Wilson on n / (1 - n/N), i.e. plain Wilson when N is unknown; when every
    stratum is fully graded the interval is the point itself.
    """
    _check(strata)
    wanted = set(grades)
    for grade in wanted:
        grade_rank(grade)
    observed = sum(s.counts.get(g, 0) for s in strata for g in wanted)
    graded = sum(s.graded for s in strata)
    sized = [s for s in strata if s.population != 0]
    missing = [s.name for s in sized if s.graded == 0]
    if missing:
        reason = f"no graded item yet in stratum {', '.join(repr(name) for name in missing)}"
        return ShareEstimate(None, 0.0, 1.0, observed, graded, 0.0, reason)
    if not sized:
        return ShareEstimate(None, 0.0, 1.0, observed, graded, 0.0, "every stratum is empty")
    total = sum(s.population or 0 for s in sized)
    share = variance = design = 0.0
    for s in sized:
        n_h = s.graded
        weight = (s.population or 0) / total if s.population is not None else 1.0
        fpc = 1 - n_h / s.population if s.population is not None else 1.0
        p_h = sum(s.counts.get(g, 0) for g in wanted) / n_h
        share += weight * p_h
        variance += weight * weight * fpc * p_h * (1 - p_h) / n_h
        design += weight * weight * fpc / n_h
    n_design = 1 / design if design > 0 else math.inf
    n_eff = min(share * (1 - share) / variance, n_design) if variance > 0 else n_design
    low, high = _wilson(share, n_eff, z_value(confidence))
    return ShareEstimate(share, min(low, share), max(high, share), observed, graded, n_eff)


def grade_shares(strata: Sequence[Stratum], confidence: float = DEFAULT_CONFIDENCE) -> dict[str, ShareEstimate]:
    """Share of each grade (high, moderate, low), each with its interval."""
    return {grade: share_estimate(strata, [grade], confidence) for grade in reversed(GRADES)}


def usable_share(
    strata: Sequence[Stratum], rule: str = "high", confidence: float = DEFAULT_CONFIDENCE
) -> ShareEstimate:
    """Share of the dataset a filter rule would keep for training (see USABLE_RULES)."""
    if rule not in USABLE_RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of: {', '.join(USABLE_RULES)}")
    return share_estimate(strata, USABLE_RULES[rule], confidence)


@dataclass(frozen=True)
class CountEstimate:
    """A number of translations in the whole dataset, with its interval."""

    estimate: int | None
    low: int
    high: int


def extrapolate(share: ShareEstimate, population: int) -> CountEstimate:
    """Turn a share into a count over ``population`` translations.

    Bounds are N*low rounded down and N*high rounded up, then clamped to what the
    sample already proves: at least the ``observed`` items, at most N minus the graded
    items that did not qualify.
    """
    if population < share.graded:
        raise ValueError(f"population {population} is smaller than the {share.graded} items already graded")
    floor_count = share.observed
    ceiling_count = population - (share.graded - share.observed)
    low = max(floor_count, math.floor(population * share.low + 1e-9))
    high = min(ceiling_count, math.ceil(population * share.high - 1e-9))
    if share.estimate is None:
        return CountEstimate(None, low, high)
    estimate = min(max(round(population * share.estimate), low), high)
    return CountEstimate(estimate, low, high)


def items_still_needed(
    margin: float,
    *,
    graded: int = 0,
    successes: int | None = None,
    population: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> int:
    """How many MORE items to grade so a share is known within +-``margin``.

    n0 = z^2 p (1 - p) / d^2 for an infinite population; with N items in the dataset,
    solving z^2 p(1-p)/n * (N-n)/(N-1) = d^2 gives n = N n0 / (N - 1 + n0). The
    planning share p is the value closest to 0.5 inside the current Wilson interval of
    successes/graded: 0.5 before anything is graded or when successes is None (the
    worst case), and a less pessimistic value once the sample rules 0.5 out, without
    trusting a point estimate from a handful of items. Returns 0 when the sample
    already suffices. Example: +-0.03 at 95% on an unknown large dataset -> 1068.
    """
    if not 0 < margin < 1:
        raise ValueError(f"margin is a share, e.g. 0.03 for +-3 points; got {margin!r}")
    if graded < 0 or (population is not None and not graded <= population):
        raise ValueError(f"graded must lie between 0 and the population, got {graded} of {population}")
    z = z_value(confidence)
    p = 0.5
    if successes is not None and graded > 0:
        low, high = wilson_interval(successes, graded, confidence)
        p = min(max(0.5, low), high)
    n0 = z * z * p * (1 - p) / (margin * margin)
    needed = n0 if population is None else min(population, population * n0 / max(population - 1 + n0, 1))
    # Guard the ceiling against float noise such as 1067.0000000001 for an exact 1067.
    return max(0, math.ceil(needed - 1e-9) - graded)
