"""A campaign's figures for the campaign page, the estimates page and the REST API.

Reads the database and hands plain tuples to the pure modules audit/agreement.py and
audit/estimates.py, which own every formula.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from django.db.models import Count, Exists, OuterRef

from translation.models import Translation

from . import agreement, agreement_intervals, estimates
from .models import Assessment, Campaign, Entry, FinalGrade, Membership, PendingAdjudication
from .simulated import SIMULATED, simulated_user_ids


@dataclass
class CampaignStatistics:
    progress: dict[str, int]
    final_counts: dict[str, int]
    pending: int
    flagged: int
    percent: agreement.Coefficient
    fleiss: agreement.Coefficient
    alpha: agreement.Coefficient
    pairs: list[dict[str, Any]]
    annotators: list[dict[str, Any]] = field(default_factory=list)
    calibration: agreement.CalibrationReport | None = None
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Bootstrap 95% intervals of alpha and Fleiss' kappa, each with its reading (agreement_intervals)."""
    controls: dict[str, int] = field(default_factory=dict)
    """Control items in the campaign and how many an annotator needs before a verdict."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratings(campaign: Campaign, *, controls: bool) -> list[tuple[int, str, str]]:
    return list(
        Assessment.objects.filter(entry__campaign=campaign, entry__is_control=controls).values_list(
            "entry_id", "annotator__username", "grade"
        )
    )


def campaign_statistics(campaign: Campaign) -> CampaignStatistics:
    ratings = _ratings(campaign, controls=False)
    control_ratings = _ratings(campaign, controls=True)
    by_annotator = Counter(annotator for _, annotator, _ in ratings)
    names = sorted({name for _, name, _ in ratings})
    pairs = []
    for a, b in combinations(names, 2):
        kappa = agreement.cohen_weighted_kappa(ratings, a, b)
        if kappa.n_items:
            interval = agreement_intervals.cohen_kappa_interval(ratings, a, b)
            pairs.append({"a": a, "b": b, "kappa": kappa.value, "n_items": kappa.n_items, "reason": kappa.reason,
                          "interval": _interval(interval, agreement_intervals.read_kappa(kappa.value, interval))})  # fmt: skip
    with_consensus = agreement.agreement_with_consensus(ratings)
    reliability = agreement.control_reliability(control_ratings, {e for e, _, _ in control_ratings})
    annotators = []
    memberships = list(Membership.objects.filter(campaign=campaign).select_related("annotator").order_by("annotator__username"))
    simulated_ids = simulated_user_ids(m.annotator_id for m in memberships)
    simulated_names = {m.annotator.username for m in memberships if m.annotator_id in simulated_ids}
    for membership in memberships:
        name = membership.annotator.username
        peer = with_consensus.get(name)
        control = reliability.get(name)
        verdict, verdict_text = agreement.reliability_verdict(control)
        annotators.append({
            "annotator": name, "simulated": name in simulated_names, "graded": by_annotator.get(name, 0),
            "agreement": peer.share if peer else None, "compared": peer.n_compared if peer else 0,
            "leniency": peer.mean_offset if peer else None,
            "controls": control.n_controls if control else 0, "controls_caught": control.n_caught if control else 0,
            "control_share": control.share if control else None, "flagged": bool(control and control.flagged),
            "verdict": verdict, "verdict_text": verdict_text,
        })  # fmt: skip
    finals = dict(FinalGrade.objects.filter(entry__campaign=campaign).values_list("grade").annotate(n=Count("pk")))
    total = campaign.size * campaign.overlap
    done = len(ratings)
    fleiss = agreement.fleiss_kappa(ratings, campaign.overlap)
    alpha = agreement.krippendorff_alpha(ratings)
    fleiss_interval = agreement_intervals.fleiss_interval(ratings, campaign.overlap)
    alpha_interval = agreement_intervals.alpha_interval(ratings)
    return CampaignStatistics(
        progress={"grades_done": done, "grades_needed": total, "remaining": max(total - done, 0),
                  "finals": sum(finals.values()), "entries": campaign.size,
                  "simulated_grades": sum(by_annotator[name] for name in simulated_names)},  # fmt: skip
        final_counts={grade: finals.get(grade, 0) for grade in ("high", "moderate", "low")},
        pending=PendingAdjudication.objects.filter(entry__campaign=campaign).count(),
        flagged=Entry.objects.filter(campaign=campaign, flagged=True).count(),
        percent=agreement.percent_agreement(ratings),
        fleiss=fleiss,
        alpha=alpha,
        pairs=pairs,
        annotators=annotators,
        calibration=calibration(campaign),
        intervals={
            "alpha": _interval(alpha_interval, agreement_intervals.read_alpha(alpha.value, alpha_interval)),
            "fleiss": _interval(fleiss_interval, agreement_intervals.read_kappa(fleiss.value, fleiss_interval)),
        },
        # Each annotator meets every control once at most (one slot per annotator per control).
        controls={"available": Entry.objects.filter(campaign=campaign, is_control=True).count(),
                  "needed": agreement.CONTROL_MIN_ITEMS},  # fmt: skip
    )


def _interval(interval: agreement_intervals.Interval, reading: str) -> dict[str, Any]:
    return {**asdict(interval), "reading": reading}


def calibration(campaign: Campaign) -> agreement.CalibrationReport:
    """How the automatic checks' suggested grade compares with the human final grade."""
    entries = Entry.objects.filter(campaign=campaign, is_control=False)
    suggested = dict(entries.values_list("pk", "translation__suggested_grade"))
    final = dict(FinalGrade.objects.filter(entry__in=entries).values_list("entry_id", "grade"))
    return agreement.calibration_report({k: v or None for k, v in suggested.items()}, final)


def strata(campaign: Campaign) -> list[estimates.Stratum]:
    """One stratum per task type with its size in the audited population and its final-grade counts."""
    candidates = Translation.objects.filter(item__dataset=campaign.dataset, target_language=campaign.target_language)
    for name in ("engine", "model", "prompt_version"):
        if getattr(campaign, name):
            candidates = candidates.filter(**{name: getattr(campaign, name)})
    sizes = dict(candidates.values_list("item__task_type").annotate(n=Count("pk")).order_by())
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    finals = FinalGrade.objects.filter(entry__campaign=campaign).values_list("entry__stratum", "grade")
    for stratum, grade in finals:
        counts[stratum][grade] += 1
    return [estimates.Stratum(name, size, dict(counts[name])) for name, size in sorted(sizes.items())]


def campaign_estimates(campaign: Campaign, *, rule: str = "high", margin: float = 0.03) -> dict[str, Any]:
    """Grade shares with Wilson intervals, extrapolated counts, usable share, sample-size help, per task type."""
    per_type = strata(campaign)
    graded = sum(s.graded for s in per_type)
    highs = sum(s.counts.get("high", 0) for s in per_type)
    if campaign.sampling == Campaign.Sampling.STRATIFIED:
        design = [s for s in per_type if s.population]
    else:  # one simple random sample (or all, or uncertainty order) over the whole population
        merged: Counter[str] = Counter()
        for s in per_type:
            merged.update(s.counts)
        design = [estimates.Stratum("all", campaign.population, dict(merged))]
    shares = estimates.grade_shares(design)
    usable = estimates.usable_share(design, rule)
    return {
        "rule": rule,
        "missing": _missing_reason(design, graded),
        "graded": graded,
        "simulated": simulated_finals(campaign),
        "population": campaign.population,
        "stratified": campaign.sampling == Campaign.Sampling.STRATIFIED,
        "shares": {g: {"share": asdict(sh), "count": asdict(estimates.extrapolate(sh, campaign.population))}
                   for g, sh in shares.items()},  # fmt: skip
        "usable": {"share": asdict(usable), "count": asdict(estimates.extrapolate(usable, campaign.population))},
        "still_needed": estimates.items_still_needed(
            margin, graded=graded, successes=highs, population=campaign.population
        ),
        "margin": margin,
        "per_type": [
            {"task_type": s.name, "population": s.population, "graded": s.graded,
             "shares": {g: asdict(sh) for g, sh in estimates.grade_shares([s]).items()}}  # fmt: skip
            for s in per_type
        ],
    }


def simulated_finals(campaign: Campaign) -> int:
    """Final grades of the campaign that rest on at least one simulated annotator's grade (audit/simulated.py)."""
    simulated = Assessment.objects.filter(entry_id=OuterRef("entry_id"), annotator__groups__name=SIMULATED)
    return FinalGrade.objects.filter(entry__campaign=campaign).filter(Exists(simulated)).count()


def _missing_reason(design: list[estimates.Stratum], graded: int) -> str | None:
    """Why the estimates page has no figure, in the reviewer's words; None when it has them."""
    if graded == 0:
        return ("no translation has a final grade yet: a final grade comes when the k annotators agree"
                " or a reviewer adjudicates")  # fmt: skip
    empty = [s.name for s in design if s.population and not s.graded]
    if not empty:
        return None
    names = ", ".join(empty)
    return (f"task type{'s' if len(empty) > 1 else ''} {names} {'have' if len(empty) > 1 else 'has'} no final grade yet;"
            " the stratified estimate weighs every task type by its size in the dataset, so it waits for at least"
            " one graded translation in each")  # fmt: skip


def pending_adjudications(campaign: Campaign, *, limit: int = 50) -> list[dict[str, Any]]:
    """Disagreements waiting for a reviewer, oldest first, with every grade, category, post-edit and comment."""
    pending = (
        PendingAdjudication.objects.filter(entry__campaign=campaign)
        .select_related("entry__translation__item")
        .order_by("created_at", "pk")[:limit]
    )
    entries = [p.entry for p in pending]
    grades: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in Assessment.objects.filter(entry__in=entries).select_related("annotator").order_by("pk"):
        grades[a.entry_id].append({
            "assessment": a.pk, "annotator": a.annotator.username, "grade": a.grade, "categories": a.categories,
            "post_edit": a.post_edit, "comment": a.comment,
        })  # fmt: skip
    return [
        {"entry": e.pk, "item": e.translation.item.external_id, "task_type": e.stratum,
         "turns": [{"source": s.get("value", ""), "target": t.get("value", "")}
                   for s, t in zip(e.translation.item.conversations, e.translation.turns)],
         "grades": grades[e.pk]}  # fmt: skip
        for e in entries
    ]
