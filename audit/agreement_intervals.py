"""Bootstrap intervals and plain-language readings for the agreement statistics (pure, numpy).

A kappa of 0.62 on 40 items and on 4,000 items do not say the same thing; the campaign
page prints a 95% interval beside each coefficient and one line on how to read it.

The bootstrap resamples *items* (translations) with replacement, the unit the
reviewers sampled, and recomputes the statistic on each resample; the interval is the
2.5th and 97.5th percentile of the resampled values (percentile bootstrap). With
three grades an item is one of a handful of *types* (its pair of grades for kappa, its
count of low/moderate/high grades for alpha and Fleiss), so drawing n items with
replacement is drawing type counts from Multinomial(n, observed type shares): one
numpy call for all resamples, exact in distribution, and fast whatever n is (1,000
resamples take a few milliseconds). Seeded, so a page shows the same interval twice.
docs/audit-statistics.md explains the bands.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

from .agreement import GRADES, Rating, grade_rank, grades_by_item

RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95
_K = len(GRADES)
_LINEAR = np.abs(np.subtract.outer(np.arange(_K), np.arange(_K))).astype(float)


@dataclass(frozen=True)
class Interval:
    """A bootstrap interval; ``low``/``high`` are None, with ``reason``, when none can be drawn.

    ``n_undefined`` counts resamples where the statistic was undefined (every resampled
    grade the same); they are left out of the percentiles and reported.
    """

    low: float | None
    high: float | None
    resamples: int
    n_undefined: int = 0
    reason: str | None = None


def _percentiles(values: np.ndarray, resamples: int, confidence: float) -> Interval:
    defined = values[np.isfinite(values)]
    undefined = resamples - defined.size
    if defined.size < resamples / 2:
        return Interval(None, None, resamples, undefined, f"the statistic is undefined in {undefined} of {resamples} resamples")
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    return Interval(float(low), float(high), resamples, undefined)


def _draw(type_counts: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """resamples x types: how often each item type appears among n items drawn with replacement."""
    n = int(type_counts.sum())
    return np.random.default_rng(seed).multinomial(n, type_counts / n, size=resamples)


# --- Cohen's linearly weighted kappa ------------------------------------------------------


def kappa_from_tables(tables: np.ndarray) -> np.ndarray:
    """Linearly weighted kappa of each 3x3 confusion table in a (..., 3, 3) array; nan where undefined."""
    tables = np.asarray(tables, dtype=float)
    n = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = (tables * _LINEAR).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.einsum("...i,...j,ij->...", rows, cols, _LINEAR) / n
        return np.where(expected > 0, 1 - observed / expected, np.nan)


def kappa_interval(pairs: Iterable[tuple[str, str]], *, resamples: int = RESAMPLES, seed: int = SEED,
                   confidence: float = CONFIDENCE) -> Interval:  # fmt: skip
    """Bootstrap interval of agreement.weighted_kappa over (grade, grade) pairs, one pair per item."""
    codes = [grade_rank(a) * _K + grade_rank(b) for a, b in pairs]
    if len(codes) < 2:
        return Interval(None, None, 0, 0, "fewer than two items graded by both")
    counts = np.bincount(codes, minlength=_K * _K)
    tables = _draw(counts, resamples, seed).reshape(resamples, _K, _K)
    return _percentiles(kappa_from_tables(tables), resamples, confidence)


def cohen_kappa_interval(ratings: Iterable[Rating], annotator_a: Hashable, annotator_b: Hashable,
                         **options) -> Interval:  # fmt: skip
    """Interval of agreement.cohen_weighted_kappa between two annotators, resampling the items both graded."""
    pairs = [
        (GRADES[ranks[annotator_a]], GRADES[ranks[annotator_b]])
        for ranks in grades_by_item(ratings).values()
        if annotator_a in ranks and annotator_b in ranks
    ]
    return kappa_interval(pairs, **options)


# --- Krippendorff's ordinal alpha and Fleiss' kappa: items as rows of grade counts ---------


def _count_types(ratings: Iterable[Rating], *, raters: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of low/moderate/high counts among items with 2+ grades, and how many items have each.

    With ``raters`` only items with exactly that many grades count (Fleiss' design).
    """
    rows = []
    for ranks in grades_by_item(ratings).values():
        if len(ranks) >= 2 and (raters is None or len(ranks) == raters):
            rows.append(np.bincount(list(ranks.values()), minlength=_K))
    if not rows:
        return np.zeros((0, _K)), np.zeros(0)
    types, counts = np.unique(np.array(rows), axis=0, return_counts=True)
    return types.astype(float), counts


def alpha_from_coincidences(coincidences: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal alpha of each 3x3 coincidence matrix in a (..., 3, 3) array; nan if undefined.

    Same formula as agreement.ordinal_alpha_from_counts: d_ck = (sum_{g=c..k} n_g - (n_c+n_k)/2)^2,
    e_ck = (n_c n_k - [c=k] n_c) / (n - 1).
    """
    o = np.asarray(coincidences, dtype=float)
    marginals = o.sum(axis=-1)
    n = marginals.sum(axis=-1)
    c, k = np.meshgrid(np.arange(_K), np.arange(_K), indexing="ij")
    low, high = np.minimum(c, k), np.maximum(c, k)
    cumulative = np.cumsum(marginals, axis=-1)
    between = cumulative[..., high] - cumulative[..., low] + marginals[..., low]
    distance = (between - (marginals[..., c] + marginals[..., k]) / 2) ** 2
    expected_counts = marginals[..., :, None] * marginals[..., None, :] - np.eye(_K) * marginals[..., :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (expected_counts * distance).sum(axis=(-2, -1)) / (n - 1)
        observed = (o * distance).sum(axis=(-2, -1))
        return np.where(expected > 0, 1 - observed / expected, np.nan)


def _coincidences(types: np.ndarray) -> np.ndarray:
    """Each item type's contribution to the coincidence matrix: (n_c n_k - [c=k] n_c) / (m - 1)."""
    m = types.sum(axis=1)
    outer = types[:, :, None] * types[:, None, :] - np.eye(_K) * types[:, :, None]
    return outer / (m - 1)[:, None, None]


def alpha_interval(ratings: Iterable[Rating], *, resamples: int = RESAMPLES, seed: int = SEED,
                   confidence: float = CONFIDENCE) -> Interval:  # fmt: skip
    """Bootstrap interval of agreement.krippendorff_alpha, resampling the items with two or more grades."""
    types, counts = _count_types(ratings)
    if counts.sum() < 2:
        return Interval(None, None, 0, 0, "fewer than two items with two grades")
    per_type = _coincidences(types).reshape(len(types), _K * _K)
    coincidences = (_draw(counts, resamples, seed) @ per_type).reshape(resamples, _K, _K)
    return _percentiles(alpha_from_coincidences(coincidences), resamples, confidence)


def fleiss_interval(ratings: Iterable[Rating], raters: int, *, resamples: int = RESAMPLES, seed: int = SEED,
                    confidence: float = CONFIDENCE) -> Interval:  # fmt: skip
    """Bootstrap interval of agreement.fleiss_kappa over the items with exactly ``raters`` grades."""
    types, counts = _count_types(ratings, raters=raters)
    if counts.sum() < 2 or raters < 2:
        return Interval(None, None, 0, 0, f"fewer than two items with exactly {raters} grades")
    draws = _draw(counts, resamples, seed).astype(float)
    n_items = counts.sum()
    agreement_per_type = ((types**2).sum(axis=1) - raters) / (raters * (raters - 1))
    p_bar = draws @ agreement_per_type / n_items
    p_e = ((draws @ types / (n_items * raters)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(p_e < 1 - 1e-12, (p_bar - p_e) / (1 - p_e), np.nan)
    return _percentiles(values, resamples, confidence)


# --- How to read a figure ----------------------------------------------------------------

KAPPA_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "poor"), (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"), (1.0, "almost perfect"),
)  # fmt: skip
"""Landis & Koch (1977): a kappa up to each bound reads as the label (below 0: poor)."""
ALPHA_RELIABLE = 0.800
ALPHA_TENTATIVE = 0.667
"""Krippendorff (2004): rely on data with alpha >= 0.800; draw only tentative conclusions from 0.667."""


def kappa_band(value: float) -> str:
    for bound, label in KAPPA_BANDS:
        if value <= bound:
            return label
    return KAPPA_BANDS[-1][1]


def alpha_band(value: float) -> str:
    if value >= ALPHA_RELIABLE:
        return "reliable"
    if value >= ALPHA_TENTATIVE:
        return "tentative"
    return "unreliable"


def read_kappa(value: float | None, interval: Interval | None = None) -> str:
    """One line on a kappa: its Landis & Koch band, and whether the interval leaves that band."""
    if value is None:
        return ""
    line = f"{kappa_band(value)} agreement (Landis & Koch)"
    return line + _spread(interval, kappa_band, kappa_band(value))


def read_alpha(value: float | None, interval: Interval | None = None) -> str:
    """One line on an alpha: reliable (>= 0.800), tentative (>= 0.667) or unreliable, and what the interval allows."""
    if value is None:
        return ""
    band = alpha_band(value)
    line = {
        "reliable": "reliable (α ≥ 0.800)",
        "tentative": "tentative conclusions only (0.667 ≤ α < 0.800)",
        "unreliable": "unreliable (α < 0.667): do not rely on these grades alone",
    }[band]
    return line + _spread(interval, alpha_band, band)


def _spread(interval: Interval | None, band, own: str) -> str:
    if interval is None or interval.low is None or interval.high is None:
        return ""
    ends = (band(interval.low), band(interval.high))
    if ends == (own, own):
        return "; the whole interval reads the same"
    return f"; the interval runs from {ends[0]} to {ends[1]}"

