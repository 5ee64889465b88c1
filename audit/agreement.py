"""Inter-annotator agreement for the translation audit (pure Python, no Django).

Every function takes ratings as an iterable of ``(item_id, annotator_id, grade)``
tuples, so the Django layer can pass ``values_list("translation_id", "annotator_id",
"grade")`` straight in. Grades are ordinal and ranked low=0, moderate=1, high=2
(``GRADE_RANK``); the rank, not the label, is what weighted statistics measure.

A statistic that cannot be computed (one grade only, no shared items) comes back as a
``Coefficient`` whose ``value`` is None and whose ``reason`` says why, so a result
page can print the reason instead of "nan". docs/audit-statistics.md explains each
statistic for reviewers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

GRADES: tuple[str, ...] = ("low", "moderate", "high")
"""The grades in ordinal order: a grade's index is its rank."""
GRADE_RANK: dict[str, int] = {grade: rank for rank, grade in enumerate(GRADES)}

CONTROL_GRADE = "low"
"""Control items are translations known to be bad: the expected grade is low."""
CONTROL_PASS_THRESHOLD = 0.8
"""Share of control items an annotator must grade low; below it they are flagged.
Controls are deliberately broken, so a careful annotator catches nearly all of them;
0.8 tolerates one miss in five before a reviewer is asked to look."""
CONTROL_MIN_ITEMS = 10
"""No flag before this many controls: with fewer, one slip moves the share by more
than ten points and would flag careful annotators by chance."""

Rating = tuple[Hashable, Hashable, str]
"""(item_id, annotator_id, grade)."""


@dataclass(frozen=True)
class Coefficient:
    """An agreement statistic with the data it rests on.

    ``value`` is None when the statistic is undefined; ``reason`` then says why.
    ``n_items`` counts the items that entered the computation, ``n_excluded`` those
    that were left out (too few grades, or a different number of graders for Fleiss).
    """

    value: float | None
    n_items: int
    reason: str | None = None
    n_excluded: int = 0


def grade_rank(grade: str, *, where: str = "") -> int:
    """Rank of a grade (low=0, moderate=1, high=2); a ValueError names the record."""
    try:
        return GRADE_RANK[grade]
    except (KeyError, TypeError):
        place = f" ({where})" if where else ""
        raise ValueError(f"unknown grade {grade!r}{place}; expected one of: high, moderate, low") from None


def grades_by_item(ratings: Iterable[Rating]) -> dict[Hashable, dict[Hashable, int]]:
    """Group ratings as item -> annotator -> rank, refusing unknown grades and duplicates.

    A second grade by the same annotator on the same item would count one person twice
    in every statistic; the caller must pass current grades only, not the history.
    """
    by_item: dict[Hashable, dict[Hashable, int]] = {}
    for item_id, annotator_id, grade in ratings:
        where = f"item {item_id!r}, annotator {annotator_id!r}"
        rank = grade_rank(grade, where=where)
        grades = by_item.setdefault(item_id, {})
        if annotator_id in grades:
            raise ValueError(f"two grades for {where}; pass each annotator's current grade only")
        grades[annotator_id] = rank
    return by_item


def consensus(grades: list[str]) -> str | None:
    """The agreed grade when all grades agree, else None (the item goes to adjudication).

    Unanimity rather than majority: with the usual overlap of two or three graders a
    majority would let one dissenting native speaker be outvoted silently, and
    disagreements are exactly the items a reviewer should see. Pass the complete set
    of k grades; an empty list has no consensus.
    """
    for grade in grades:
        grade_rank(grade)
    if not grades or any(grade != grades[0] for grade in grades):
        return None
    return grades[0]


def percent_agreement(ratings: Iterable[Rating]) -> Coefficient:
    """Mean over items of the share of annotator pairs that gave the same grade.

    Only items with two or more grades count. Each item weighs the same whatever its
    number of graders, so a heavily overlapped item does not dominate. Raw agreement
    ignores chance; read it beside a kappa or alpha.
    """
    by_item = grades_by_item(ratings)
    shares = []
    for ranks in by_item.values():
        m = len(ranks)
        if m < 2:
            continue
        agreeing_pairs = sum(c * (c - 1) for c in Counter(ranks.values()).values())
        shares.append(agreeing_pairs / (m * (m - 1)))
    excluded = len(by_item) - len(shares)
    if not shares:
        return Coefficient(None, 0, "no item has grades from two annotators", excluded)
    return Coefficient(sum(shares) / len(shares), len(shares), None, excluded)


def confusion_matrix(pairs: Iterable[tuple[str, str]]) -> list[list[int]]:
    """3x3 counts, rows = first grade, columns = second grade, both in GRADES order."""
    matrix = [[0] * len(GRADES) for _ in GRADES]
    for index, (first, second) in enumerate(pairs):
        where = f"pair {index}"
        matrix[grade_rank(first, where=where)][grade_rank(second, where=where)] += 1
    return matrix


def weighted_kappa(pairs: Iterable[tuple[str, str]]) -> Coefficient:
    """Cohen's kappa with linear weights over (grade, grade) pairs.

    Linear weights count high-vs-low as twice the disagreement of high-vs-moderate,
    which matches how the grades are used (high+moderate can both be kept for
    training). kappa = 1 - sum(w*O) / sum(w*E), with w_ij = |i-j|, O the observed
    counts and E the counts expected from the two marginals; identical to
    sklearn.metrics.cohen_kappa_score(weights="linear", labels=GRADES).
    """
    matrix = confusion_matrix(pairs)
    n = sum(map(sum, matrix))
    if n == 0:
        return Coefficient(None, 0, "no item was graded by both sides")
    rows = [sum(row) for row in matrix]
    cols = [sum(column) for column in zip(*matrix)]
    size = len(GRADES)
    observed = sum(abs(i - j) * matrix[i][j] for i in range(size) for j in range(size))
    expected = sum(abs(i - j) * rows[i] * cols[j] / n for i in range(size) for j in range(size))
    if expected == 0:
        only = GRADES[rows.index(n)]
        reason = f"both sides graded every item {only!r}: chance agreement is total, kappa is undefined"
        return Coefficient(None, n, reason)
    return Coefficient(1 - observed / expected, n)


def cohen_weighted_kappa(ratings: Iterable[Rating], annotator_a: Hashable, annotator_b: Hashable) -> Coefficient:
    """Linearly weighted kappa between two annotators over the items both graded."""
    if annotator_a == annotator_b:
        raise ValueError(f"kappa needs two different annotators, got {annotator_a!r} twice")
    pairs = []
    for ranks in grades_by_item(ratings).values():
        if annotator_a in ranks and annotator_b in ranks:
            pairs.append((GRADES[ranks[annotator_a]], GRADES[ranks[annotator_b]]))
    return weighted_kappa(pairs)


def fleiss_kappa_from_counts(counts: Sequence[Sequence[int]]) -> Coefficient:
    """Fleiss' kappa from an items x categories count table (any number of categories).

    Every row must sum to the same number of raters n >= 2, as Fleiss (1971) assumes.
    kappa = (P_bar - P_e) / (1 - P_e), with P_i = (sum_j n_ij^2 - n) / (n (n-1)),
    P_bar their mean, p_j the share of all ratings in category j, P_e = sum_j p_j^2.
    Nominal: it treats high-vs-low like high-vs-moderate.
    """
    if not counts:
        return Coefficient(None, 0, "no item to compare")
    n = sum(counts[0])
    for index, row in enumerate(counts):
        if sum(row) != n or any(c < 0 for c in row):
            raise ValueError(f"row {index} has {sum(row)} ratings, expected {n} like row 0 (and no negative counts)")
    if n < 2:
        return Coefficient(None, len(counts), "Fleiss' kappa needs at least two raters per item")
    items = len(counts)
    p_bar = sum((sum(c * c for c in row) - n) / (n * (n - 1)) for row in counts) / items
    p_e = sum((sum(column) / (items * n)) ** 2 for column in zip(*counts))
    if p_e >= 1 - 1e-12:
        reason = "every rating is the same category: chance agreement is total, kappa is undefined"
        return Coefficient(None, items, reason)
    return Coefficient((p_bar - p_e) / (1 - p_e), items)


def fleiss_kappa(ratings: Iterable[Rating], raters_per_item: int | None = None) -> Coefficient:
    """Fleiss' kappa over the items graded by exactly ``raters_per_item`` annotators.

    Fleiss' formula needs the same number of raters on every item. Items with another
    count (still in progress, or over-graded) are left out, not subsampled, so the
    result is deterministic; ``n_excluded`` reports them. When ``raters_per_item`` is
    None it is the most common count among items with two or more grades (the larger
    on a tie), i.e. the campaign's overlap k in practice. Krippendorff's alpha is the
    statistic that uses every item.
    """
    by_item = grades_by_item(ratings)
    if raters_per_item is None:
        sizes = Counter(len(ranks) for ranks in by_item.values() if len(ranks) >= 2)
        if not sizes:
            return Coefficient(None, 0, "no item has grades from two annotators", len(by_item))
        raters_per_item = max(sizes, key=lambda size: (sizes[size], size))
    table = []
    for ranks in by_item.values():
        if len(ranks) == raters_per_item:
            row = [0] * len(GRADES)
            for rank in ranks.values():
                row[rank] += 1
            table.append(row)
    excluded = len(by_item) - len(table)
    if not table:
        return Coefficient(None, 0, f"no item has exactly {raters_per_item} grades", excluded)
    result = fleiss_kappa_from_counts(table)
    return Coefficient(result.value, result.n_items, result.reason, excluded)


def ordinal_alpha_from_counts(value_counts: Sequence[Sequence[int]]) -> Coefficient:
    """Krippendorff's alpha (ordinal) from an items x values table, values in rank order.

    alpha = 1 - D_o / D_e = 1 - sum(o_ck d_ck) / sum(e_ck d_ck), with the coincidence
    matrix o_ck = sum_u (n_uc n_uk - [c=k] n_uc) / (m_u - 1) over items with m_u >= 2
    values, n_c = sum_k o_ck, e_ck = (n_c n_k - [c=k] n_c) / (n - 1), and the ordinal
    distance d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2. Same as the
    ``krippendorff`` package's alpha(level_of_measurement="ordinal").
    """
    size = len(value_counts[0]) if value_counts else 0
    coincidences = [[0.0] * size for _ in range(size)]
    pairable = 0
    for row in value_counts:
        m = sum(row)
        if m < 2:
            continue
        pairable += 1
        for c in range(size):
            for k in range(size):
                coincidences[c][k] += (row[c] * row[k] - (row[c] if c == k else 0)) / (m - 1)
    excluded = len(value_counts) - pairable
    if pairable == 0:
        return Coefficient(None, 0, "no item has values from two coders", excluded)
    marginals = [sum(row) for row in coincidences]
    n = sum(marginals)

    def distance(c: int, k: int) -> float:
        low, high = min(c, k), max(c, k)
        return (sum(marginals[low : high + 1]) - (marginals[c] + marginals[k]) / 2) ** 2

    observed = sum(coincidences[c][k] * distance(c, k) for c in range(size) for k in range(size))
    expected = sum(
        (marginals[c] * marginals[k] - (marginals[c] if c == k else 0)) / (n - 1) * distance(c, k)
        for c in range(size)
        for k in range(size)
    )
    if expected == 0:
        reason = "all paired values are the same: no disagreement is expected, alpha is undefined"
        return Coefficient(None, pairable, reason, excluded)
    return Coefficient(1 - observed / expected, pairable, None, excluded)


def krippendorff_alpha(ratings: Iterable[Rating]) -> Coefficient:
    """Krippendorff's alpha at the ordinal level, over every item with two or more grades.

    The audit's main reliability figure: it accepts any number of graders per item
    (missing grades are simply absent), weighs disagreements by how many grades lie
    between them, and corrects for chance. Items with a single grade carry no pair and
    are reported in ``n_excluded``.
    """
    table = []
    for ranks in grades_by_item(ratings).values():
        row = [0] * len(GRADES)
        for rank in ranks.values():
            row[rank] += 1
        table.append(row)
    return ordinal_alpha_from_counts(table)


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator against the grade the other annotators agreed on.

    ``mean_offset`` is the mean of (own rank - reference rank) over compared items:
    positive means this annotator grades more leniently than their peers.
    ``n_no_reference`` counts items skipped because no other grade existed or the
    others had no strict majority.
    """

    annotator_id: Hashable
    n_compared: int
    n_agreed: int
    share: float | None
    mean_offset: float | None
    n_no_reference: int


def agreement_with_consensus(ratings: Iterable[Rating]) -> dict[Hashable, AnnotatorAgreement]:
    """Per annotator: how often their grade matches the majority of the *other* graders.

    The annotator's own vote is always left out of the reference: with k=3, counting
    it would make any vote part of its own majority half the time, and with k=2 the
    annotator would always agree with a "consensus" that contains them. With k=2 the
    reference is the partner's grade, so this reads as pairwise agreement. The
    reference is the strict majority grade of the others (more than half of them);
    items where the others split are skipped, not guessed.
    """
    by_item = grades_by_item(ratings)
    compared: Counter[Hashable] = Counter()
    agreed: Counter[Hashable] = Counter()
    offsets: Counter[Hashable] = Counter()
    skipped: Counter[Hashable] = Counter()
    annotators: dict[Hashable, None] = {}
    for ranks in by_item.values():
        for annotator_id, own in ranks.items():
            annotators[annotator_id] = None
            others = Counter(rank for other, rank in ranks.items() if other != annotator_id)
            top = others.most_common(1)
            if not top or top[0][1] * 2 <= sum(others.values()):
                skipped[annotator_id] += 1
                continue
            reference = top[0][0]
            compared[annotator_id] += 1
            agreed[annotator_id] += own == reference
            offsets[annotator_id] += own - reference
    result = {}
    for annotator_id in annotators:
        n = compared[annotator_id]
        result[annotator_id] = AnnotatorAgreement(
            annotator_id=annotator_id,
            n_compared=n,
            n_agreed=agreed[annotator_id],
            share=agreed[annotator_id] / n if n else None,
            mean_offset=offsets[annotator_id] / n if n else None,
            n_no_reference=skipped[annotator_id],
        )
    return result


@dataclass(frozen=True)
class ControlReliability:
    """How one annotator did on control items (translations known to be low)."""

    annotator_id: Hashable
    n_controls: int
    n_caught: int
    share: float | None
    flagged: bool


def control_reliability(
    ratings: Iterable[Rating],
    control_item_ids: Collection[Hashable],
    *,
    threshold: float = CONTROL_PASS_THRESHOLD,
    min_items: int = CONTROL_MIN_ITEMS,
) -> dict[Hashable, ControlReliability]:
    """Share of control items each annotator graded low, flagged below ``threshold``.

    A flag needs at least ``min_items`` controls, so nobody is flagged on two or three
    items. Every annotator in ``ratings`` appears, with zero controls if none reached
    them. A flag asks a reviewer to look; it does not discard the annotator's grades.
    """
    controls = set(control_item_ids)
    expected = grade_rank(CONTROL_GRADE)
    seen: Counter[Hashable] = Counter()
    caught: Counter[Hashable] = Counter()
    annotators: dict[Hashable, None] = {}
    for item_id, ranks in grades_by_item(ratings).items():
        for annotator_id, rank in ranks.items():
            annotators[annotator_id] = None
            if item_id in controls:
                seen[annotator_id] += 1
                caught[annotator_id] += rank == expected
    result = {}
    for annotator_id in annotators:
        n = seen[annotator_id]
        share = caught[annotator_id] / n if n else None
        result[annotator_id] = ControlReliability(
            annotator_id=annotator_id,
            n_controls=n,
            n_caught=caught[annotator_id],
            share=share,
            flagged=share is not None and n >= min_items and share < threshold,
        )
    return result


@dataclass(frozen=True)
class CalibrationReport:
    """Suggested (automatic) grades against human final grades.

    ``matrix[i][j]`` counts items suggested ``labels[i]`` and finally graded
    ``labels[j]``; ``n_skipped`` counts items lacking either grade.
    """

    labels: tuple[str, ...]
    matrix: list[list[int]]
    n_items: int
    exact_agreement: float | None
    kappa: Coefficient
    n_skipped: int


def calibration_report(
    suggested: Mapping[Hashable, str | None], final: Mapping[Hashable, str | None]
) -> CalibrationReport:
    """How well the automatic checks' suggested grade predicts the human final grade.

    The suggestion only orders the audit queue; this report tells reviewers whether
    that order is worth trusting and where it errs. Read by row: a row is what the
    checks suggested, its cells what humans decided; counts left of the diagonal are
    suggestions that were too optimistic. Items lacking either grade are skipped.
    """
    pairs = []
    for item_id in suggested.keys() | final.keys():
        machine, human = suggested.get(item_id), final.get(item_id)
        if machine is not None and human is not None:
            pairs.append((machine, human))
    skipped = len(suggested.keys() | final.keys()) - len(pairs)
    matrix = confusion_matrix(pairs)
    n = len(pairs)
    agreed = sum(matrix[i][i] for i in range(len(GRADES)))
    return CalibrationReport(
        labels=GRADES,
        matrix=matrix,
        n_items=n,
        exact_agreement=agreed / n if n else None,
        kappa=weighted_kappa(pairs),
        n_skipped=skipped,
    )


def reliability_verdict(
    result: ControlReliability | None,
    *,
    threshold: float = CONTROL_PASS_THRESHOLD,
    min_items: int = CONTROL_MIN_ITEMS,
) -> tuple[str, str]:
    """What the campaign page says about one annotator's control items: (status, sentence).

    status is "flagged", "ok" or "too_few". Below ``min_items`` controls the page must
    not say "ok": 0 of 4 caught is no evidence of care, only of too little evidence.
    """
    n = result.n_controls if result else 0
    caught = result.n_caught if result else 0
    if n == 0:
        return "too_few", f"no control graded yet ({min_items} needed to judge)"
    if n < min_items:
        return "too_few", f"too few controls ({n} of {min_items} needed); caught {caught} so far"
    if result is not None and result.flagged:
        return "flagged", f"Flagged: misses too many control items (caught {caught} of {n}, below {threshold:.0%})"
    return "ok", f"ok: caught {caught} of {n} controls"
