"""Agreement statistics: the figures reviewers read to decide whether the audit is trustworthy.

Kappa and alpha are checked against the reference implementations (scikit-learn,
the `krippendorff` package) on seeded random data with missing grades; Fleiss'
kappa against the Fleiss (1971) / Wikipedia worked example.
"""

from __future__ import annotations

import itertools
import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from audit.agreement import (
    CONTROL_MIN_ITEMS,
    CONTROL_PASS_THRESHOLD,
    GRADES,
    agreement_with_consensus,
    calibration_report,
    cohen_weighted_kappa,
    consensus,
    control_reliability,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha,
    ordinal_alpha_from_counts,
    percent_agreement,
    reliability_verdict,
    weighted_kappa,
)

ANNOTATORS = ["ana", "ben", "chloe", "dima", "eve"]


def random_ratings(seed: int, items: int = 60) -> list[tuple[int, str, str]]:
    """Correlated grades (a true grade plus noise) from a random subset of 1-4 annotators."""
    rng = random.Random(seed)
    ratings = []
    for item in range(items):
        truth = rng.choices([0, 1, 2], weights=[2, 3, 5])[0]
        for annotator in rng.sample(ANNOTATORS, rng.randint(1, 4)):
            rank = truth if rng.random() < 0.6 else rng.randint(0, 2)
            ratings.append((item, annotator, GRADES[rank]))
    return ratings


def reliability_matrix(ratings: list[tuple[int, str, str]]) -> np.ndarray:
    """Annotators x items, ranks 0/1/2, NaN where an annotator did not grade the item."""
    items = sorted({item for item, _, _ in ratings})
    matrix = np.full((len(ANNOTATORS), len(items)), np.nan)
    for item, annotator, grade in ratings:
        matrix[ANNOTATORS.index(annotator), items.index(item)] = GRADES.index(grade)
    return matrix


@pytest.mark.parametrize("seed", range(8))
def test_weighted_kappa_matches_sklearn_for_every_annotator_pair(seed: int) -> None:
    ratings = random_ratings(seed)
    by_item: dict[int, dict[str, str]] = {}
    for item, annotator, grade in ratings:
        by_item.setdefault(item, {})[annotator] = grade
    compared = 0
    for a, b in itertools.combinations(ANNOTATORS, 2):
        shared = [grades for grades in by_item.values() if a in grades and b in grades]
        ours = cohen_weighted_kappa(ratings, a, b)
        assert ours.n_items == len(shared)
        if len(shared) < 2:
            continue
        reference = cohen_kappa_score(
            [g[a] for g in shared], [g[b] for g in shared], labels=list(GRADES), weights="linear"
        )
        if math.isnan(reference):
            assert ours.value is None and ours.reason
            continue
        assert ours.value == pytest.approx(reference, abs=1e-12)
        compared += 1
    assert compared >= 5


@pytest.mark.parametrize("seed", range(8))
def test_ordinal_alpha_matches_krippendorff_package_with_missing_grades(seed: int) -> None:
    ratings = random_ratings(seed)
    matrix = reliability_matrix(ratings)
    assert np.isnan(matrix).any()
    reference = krippendorff.alpha(reliability_data=matrix, value_domain=[0, 1, 2], level_of_measurement="ordinal")
    ours = krippendorff_alpha(ratings)
    assert ours.value == pytest.approx(reference, abs=1e-12)
    single = sum(1 for column in matrix.T if np.count_nonzero(~np.isnan(column)) == 1)
    assert ours.n_excluded == single
    assert ours.n_items == matrix.shape[1] - single


def test_ordinal_alpha_matches_with_string_grades_and_unused_grade() -> None:
    # "high" never used: the value domain still fixes the three grades' order.
    ratings = [(1, "a", "low"), (1, "b", "low"), (2, "a", "moderate"), (2, "b", "low"), (3, "a", "moderate"),
               (3, "b", "moderate"), (3, "c", "low"), (4, "c", "moderate")]  # fmt: skip
    data = [["low", "moderate", "moderate", np.nan], ["low", "low", "moderate", np.nan],
            [np.nan, np.nan, "low", "moderate"]]  # fmt: skip
    strings = np.array(data, dtype=object).astype(str)  # NaN becomes "nan", which the package treats as missing
    reference = krippendorff.alpha(reliability_data=strings, value_domain=list(GRADES), level_of_measurement="ordinal")
    assert krippendorff_alpha(ratings).value == pytest.approx(reference, abs=1e-12)


def test_ordinal_alpha_textbook_example() -> None:
    # Krippendorff's five-value example (also the krippendorff package's docstring): alpha = 0.815.
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]  # fmt: skip
    counts = [[sum(1 for coder in data if coder[unit] == value) for value in range(1, 6)] for unit in range(12)]
    assert round(ordinal_alpha_from_counts(counts).value or 0, 3) == 0.815


def test_fleiss_kappa_wikipedia_example() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories.
    # P_bar = 0.378, P_e = 0.213, kappa = (0.378 - 0.213) / (1 - 0.213) = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]  # fmt: skip
    result = fleiss_kappa_from_counts(table)
    assert result.value == pytest.approx(0.20993, abs=1e-5)
    assert result.n_items == 10


def test_fleiss_kappa_leaves_out_items_with_another_number_of_graders() -> None:
    complete = [(1, "a", "high"), (1, "b", "high"), (1, "c", "low"),
                (2, "a", "low"), (2, "b", "low"), (2, "c", "low"),
                (3, "a", "moderate"), (3, "b", "high"), (3, "c", "moderate")]  # fmt: skip
    in_progress = [(4, "a", "high"), (5, "a", "low"), (5, "b", "high")]
    result = fleiss_kappa(complete + in_progress)
    expected = fleiss_kappa_from_counts([[1, 0, 2], [3, 0, 0], [0, 2, 1]])
    assert result.value == pytest.approx(expected.value)
    assert (result.n_items, result.n_excluded) == (3, 2)
    assert fleiss_kappa(complete + in_progress, raters_per_item=2).n_items == 1


def test_fleiss_kappa_rejects_uneven_count_table() -> None:
    with pytest.raises(ValueError, match="row 1"):
        fleiss_kappa_from_counts([[2, 1, 0], [1, 1, 0]])


def test_percent_agreement_averages_pairwise_agreement_per_item() -> None:
    ratings = [(1, "a", "high"), (1, "b", "high"), (1, "c", "low"),  # 1 of 3 pairs agree
               (2, "a", "low"), (2, "b", "low"),  # 1 of 1
               (3, "a", "moderate")]  # fmt: skip
    result = percent_agreement(ratings)
    assert result.value == pytest.approx((1 / 3 + 1) / 2)
    assert (result.n_items, result.n_excluded) == (2, 1)


def test_degenerate_inputs_give_none_with_a_reason_not_nan() -> None:
    all_high = [(item, annotator, "high") for item in range(5) for annotator in "ab"]
    for result in (cohen_weighted_kappa(all_high, "a", "b"), fleiss_kappa(all_high), krippendorff_alpha(all_high)):
        assert result.value is None
        assert result.reason and "undefined" in result.reason
    assert percent_agreement(all_high).value == 1.0

    disjoint = [(1, "a", "high"), (2, "b", "low")]
    for result in (cohen_weighted_kappa(disjoint, "a", "b"), fleiss_kappa(disjoint),
                   krippendorff_alpha(disjoint), percent_agreement(disjoint)):  # fmt: skip
        assert result.value is None and result.n_items == 0 and result.reason
    empty: list[tuple[int, str, str]] = []
    assert krippendorff_alpha(empty).value is None
    assert weighted_kappa([]).value is None


def test_opposite_single_grades_give_zero_kappa_like_sklearn() -> None:
    # Not degenerate: chance predicts total disagreement, and that is what happened.
    pairs = [("high", "low")] * 4
    assert weighted_kappa(pairs).value == pytest.approx(0.0)
    assert cohen_kappa_score(["high"] * 4, ["low"] * 4, labels=list(GRADES), weights="linear") == 0.0


def test_bad_records_are_refused_with_where() -> None:
    with pytest.raises(ValueError, match=r"'excellent'.*item 7"):
        krippendorff_alpha([(7, "a", "excellent")])
    with pytest.raises(ValueError, match="two grades for item 7, annotator 'a'"):
        percent_agreement([(7, "a", "high"), (7, "a", "low")])
    with pytest.raises(ValueError, match="two different annotators"):
        cohen_weighted_kappa([], "a", "a")


def test_consensus_is_unanimity() -> None:
    assert consensus(["high", "high", "high"]) == "high"
    assert consensus(["moderate"]) == "moderate"
    assert consensus(["high", "high", "moderate"]) is None
    assert consensus([]) is None
    with pytest.raises(ValueError, match="'HIGH'"):
        consensus(["HIGH", "high"])


def test_agreement_with_consensus_excludes_own_vote() -> None:
    ratings = []
    for item in range(4):  # a and b agree on low; c, lenient, says high
        ratings += [(item, "a", "low"), (item, "b", "low"), (item, "c", "high")]
    ratings += [(9, "a", "high"), (9, "b", "low")]  # a's only partner is b: reference = b's grade
    result = agreement_with_consensus(ratings)
    c = result["c"]
    assert (c.n_compared, c.n_agreed, c.share, c.mean_offset) == (4, 0, 0.0, 2.0)
    a = result["a"]
    # items 0-3: others (b low, c high) are split -> skipped; item 9: b says low, a high.
    assert (a.n_compared, a.n_agreed, a.n_no_reference, a.mean_offset) == (1, 0, 4, 2.0)
    assert result["b"].n_compared == 1 and result["b"].mean_offset == -2.0


def test_control_reliability_flags_only_after_enough_controls() -> None:
    assert CONTROL_PASS_THRESHOLD == 0.8 and CONTROL_MIN_ITEMS == 10
    controls = {f"c{i}" for i in range(10)}
    ratings = [(f"c{i}", "careless", "low" if i < 7 else "moderate") for i in range(10)]
    ratings += [(f"c{i}", "careful", "low" if i < 8 else "high") for i in range(10)]
    ratings += [(f"c{i}", "newcomer", "high") for i in range(5)]
    ratings += [("plain", "other", "high")]
    result = control_reliability(ratings, controls)
    assert (result["careless"].share, result["careless"].flagged) == (0.7, True)
    assert (result["careful"].share, result["careful"].flagged) == (0.8, False)
    assert (result["newcomer"].share, result["newcomer"].flagged) == (0.0, False)
    assert (result["other"].n_controls, result["other"].share, result["other"].flagged) == (0, None, False)
    assert control_reliability(ratings, controls, min_items=5)["newcomer"].flagged


def test_the_reliability_verdict_says_when_it_cannot_judge() -> None:
    controls = {f"c{i}" for i in range(10)}
    ratings = [(f"c{i}", "careless", "low" if i < 7 else "moderate") for i in range(10)]
    ratings += [(f"c{i}", "careful", "low") for i in range(10)]
    ratings += [(f"c{i}", "newcomer", "high") for i in range(4)] + [("plain", "other", "high")]
    result = control_reliability(ratings, controls)
    # 0 of 4 caught is not "ok": it is too little evidence either way.
    assert reliability_verdict(result["newcomer"]) == ("too_few", "too few controls (4 of 10 needed); caught 0 so far")
    assert reliability_verdict(result["other"]) == ("too_few", "no control graded yet (10 needed to judge)")
    assert reliability_verdict(None)[0] == "too_few"
    assert reliability_verdict(result["careless"]) == (
        "flagged", "Flagged: misses too many control items (caught 7 of 10, below 80%)")
    assert reliability_verdict(result["careful"]) == ("ok", "ok: caught 10 of 10 controls")


def test_calibration_report_rows_are_suggestions_and_kappa_matches_sklearn() -> None:
    rng = random.Random(3)
    suggested = {i: rng.choice(GRADES) for i in range(50)}
    final = {i: (g if rng.random() < 0.5 else rng.choice(GRADES)) for i, g in suggested.items()}
    suggested[50] = "high"  # never finalised
    final[51] = "low"  # no suggestion
    suggested[52] = None
    report = calibration_report(suggested, final)
    assert report.labels == ("low", "moderate", "high")
    assert (report.n_items, report.n_skipped) == (50, 3)
    pairs = [(suggested[i], final[i]) for i in range(50)]
    high_to_low = sum(1 for s, f in pairs if s == "high" and f == "low")
    assert report.matrix[2][0] == high_to_low
    assert report.exact_agreement == pytest.approx(sum(s == f for s, f in pairs) / 50)
    reference = cohen_kappa_score([s for s, _ in pairs], [f for _, f in pairs], labels=list(GRADES), weights="linear")
    assert report.kappa.value == pytest.approx(reference, abs=1e-12)
