"""Simulated annotators: seeded model graders that grade a campaign through the same services as people.

A study needs grades to measure what the audit buys, and people cannot grade 6,000
translations twice over in a test run. A simulated annotator is an ordinary annotator
user (role group ``annotator``) that is also in the group ``simulated`` (SIMULATED) and
has an unusable password, so it can never log in. Everything that shows or counts
grades says which were simulated (campaign and estimates pages, snapshot counts, the
REST assessments export); agreement and estimates treat them exactly as people's.

The model of one grader (SimulatedGrader):

- the *true* grade of a translation (true_grade): ``low`` for a control item or a
  translation with an injected error (Translation.injected_error, put in on purpose by
  translation/injection.py) or a broken structure (checks' structure_ok false: a lost
  <image>, a changed option letter, which the guidelines grade low); else ``moderate``
  when the checks saw words left in another language (a detected language other than the
  target, or an untranslated share above translation.checks.UNTRANSLATED_HIGH) or
  suggested moderate or low; else ``high``. So the checks' other "low" signals (length
  ratio, round trip) count as moderate: they flag, a reader forgives.
- with probability ``accuracy`` the grader gives the true grade; otherwise one of the
  two other grades, the neighbouring one three times as likely as the far one, and
  ``bias`` ("lenient": toward high, "strict": toward low) makes the grades on its side
  four times as likely. The observed accuracy is therefore ``accuracy`` on average.
- it spends ``seconds_per_item`` on an item, times a log-normal jitter (sigma 0.3),
  recorded as the assessment's time spent (Assessment.seconds).
- every draw comes from a generator seeded by (seed, grader name, the translation's
  item, engine, model, prompt version, control or not): the same seed gives the same
  grades, whatever order the items come in.

grade_campaign lets every simulated member take its next item (audit.assignment's
next_assignment) and grade it with audit.grade_next's grade_and_next, the function behind
the grading API, which also leases the next one, in turn, one item each, until every
queue is empty: overlap, controls, leases and consensus work as for people.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.roles import ANNOTATOR
from translation.checks import UNTRANSLATED_HIGH

from .agreement import GRADES
from .assignment import next_assignment
from .grade_next import grade_and_next
from .models import Campaign, Entry, Membership

SIMULATED = "simulated"
"""The group that marks a user as a simulated annotator (see is_simulated, simulated_flag)."""

BIASES = ("none", "lenient", "strict")
COMMIT_EVERY = 200
"""Grades per transaction: one commit (an fsync on SQLite) per grade would cost more than the grade."""


# --- The model (pure Python) ------------------------------------------------------------------


def true_grade(*, injected_error: str, checks: dict[str, Any] | None, suggested_grade: str,
               is_control: bool = False, target_language: str = "fr") -> str:  # fmt: skip
    """What a careful native speaker would say of a translation (the module docstring gives the rule)."""
    checks = checks or {}
    if is_control or injected_error or checks.get("structure_ok") is False:
        return "low"
    language = checks.get("language")
    leftover = (language not in (None, target_language)) or (checks.get("untranslated_share") or 0) > UNTRANSLATED_HIGH
    if leftover or suggested_grade in ("moderate", "low"):
        return "moderate"
    return "high"


@dataclass(frozen=True)
class SimulatedGrader:
    """One model grader; ``name`` is the username of its annotator user."""

    name: str
    accuracy: float = 0.85
    bias: str = "none"
    seconds_per_item: float = 8.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.accuracy <= 1:
            raise ValueError(f"accuracy must lie between 0 and 1, got {self.accuracy!r}")
        if self.bias not in BIASES:
            raise ValueError(f"unknown bias {self.bias!r}; expected one of {', '.join(BIASES)}")

    def grade(self, truth: str, key: str) -> tuple[str, float]:
        """(grade, seconds spent) for an item whose true grade is ``truth``; ``key`` names the item."""
        rng = random.Random(f"{self.seed}|{self.name}|{key}")
        seconds = round(self.seconds_per_item * rng.lognormvariate(0.0, 0.3), 1)
        if rng.random() < self.accuracy:
            return truth, seconds
        rank = GRADES.index(truth)
        others = [g for g in GRADES if g != truth]
        weights = []
        for other in others:
            weight = 3.0 if abs(GRADES.index(other) - rank) == 1 else 1.0
            higher = GRADES.index(other) > rank
            if (self.bias == "lenient" and higher) or (self.bias == "strict" and not higher):
                weight *= 4.0
            weights.append(weight)
        return rng.choices(others, weights)[0], seconds


def panel(names: Sequence[str], *, seed: int = 0, accuracy: float = 0.85) -> list[SimulatedGrader]:
    """The default graders for these usernames: biases in turn none, lenient, strict; 6, 9, 12 s per item."""
    return [
        SimulatedGrader(name, accuracy=accuracy, bias=BIASES[i % 3], seconds_per_item=6.0 + 3 * (i % 3), seed=seed)
        for i, name in enumerate(sorted(names))
    ]


# --- Who is simulated ---------------------------------------------------------------------------


def is_simulated(user: User) -> bool:
    return user.groups.filter(name=SIMULATED).exists()


def simulated_flag(user_field: str = "annotator_id") -> Exists:
    """An annotation: whether the user in ``user_field`` of each row is simulated (one EXISTS, no row doubling)."""
    return Exists(User.groups.through.objects.filter(user_id=OuterRef(user_field), group__name=SIMULATED))


def simulated_user_ids(ids: Iterable[int] | None = None) -> set[int]:
    query = User.groups.through.objects.filter(group__name=SIMULATED)
    if ids is not None:
        query = query.filter(user_id__in=list(ids))
    return set(query.values_list("user_id", flat=True))


@transaction.atomic
def ensure_simulated_annotators(count: int, seed: int = 0) -> list[User]:
    """``count`` simulated annotators of the panel ``seed``, created if missing (idempotent).

    Panel 0 is simulated-1, simulated-2, ...; panel s > 0 is simulated-s-1, ... (other people).
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    annotator = Group.objects.get_or_create(name=ANNOTATOR)[0]
    simulated = Group.objects.get_or_create(name=SIMULATED)[0]
    prefix = "simulated-" if seed == 0 else f"simulated-{seed}-"
    users = []
    for i in range(1, count + 1):
        user, created = User.objects.get_or_create(username=f"{prefix}{i}", defaults={"first_name": "Simulated"})
        if created:
            user.set_unusable_password()  # never logs in: no password matches, no reset mail is sent
            user.save(update_fields=["password"])
        elif user.has_usable_password() or user.is_staff or user.is_superuser:
            raise ValueError(f"user {user.username} exists and is a person (it can log in); pick another seed")
        user.groups.add(annotator, simulated)
        users.append(user)
    return users


@transaction.atomic
def add_to_campaign(campaign: Campaign, users: Iterable[User]) -> int:
    """Make simulated users members of a campaign (as create_campaign makes people); returns how many joined."""
    rng = random.Random(campaign.seed + 1)
    have = set(Membership.objects.filter(campaign=campaign).values_list("annotator_id", flat=True))
    new = [Membership(campaign=campaign, annotator=u, control_phase=rng.random()) for u in users if u.pk not in have]
    Membership.objects.bulk_create(new)
    return len(new)


# --- Grading ------------------------------------------------------------------------------------


@dataclass
class GradingSummary:
    graded: int = 0
    controls: int = 0
    seconds: float = 0.0
    per_grader: dict[str, int] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    matches_truth: int = 0

    @property
    def grades_per_second(self) -> float:
        return self.graded / self.seconds if self.seconds else 0.0

    @property
    def accuracy(self) -> float | None:
        return self.matches_truth / self.graded if self.graded else None

    def __str__(self) -> str:
        who = ", ".join(f"{name} {n}" for name, n in sorted(self.per_grader.items()))
        accuracy = f"{self.accuracy:.3f}" if self.accuracy is not None else "-"
        return (f"{self.graded} simulated grades ({self.controls} on controls) in {self.seconds:.1f} s,"
                f" {self.grades_per_second:.0f}/s; by grader: {who or 'none'};"
                f" grades: {dict(sorted(self.grades.items()))};"
                f" agreement with the true grade {accuracy}")  # fmt: skip


def _truths(campaign: Campaign) -> dict[int, tuple[str, str, bool]]:
    """entry id -> (true grade, the draw key, is a control), for every entry of the campaign, in one query."""
    rows = Entry.objects.filter(campaign=campaign).values_list(
        "pk", "is_control", "translation__injected_error", "translation__checks", "translation__suggested_grade",
        "translation__item__external_id", "translation__engine", "translation__model", "translation__prompt_version",
    )  # fmt: skip
    return {
        pk: (true_grade(injected_error=error, checks=checks, suggested_grade=suggested, is_control=control,
                        target_language=campaign.target_language),
             f"{external_id}|{engine}|{model}|{prompt}|{'control' if control else 'item'}", control)
        for pk, control, error, checks, suggested, external_id, engine, model, prompt in rows
    }  # fmt: skip


def grade_campaign(campaign: Campaign, *, seed: int = 0, graders: Sequence[SimulatedGrader] | None = None,
                   limit: int | None = None, progress: Callable[[GradingSummary], None] | None = None,
                   accuracy: float = 0.85) -> GradingSummary:  # fmt: skip
    """Let the campaign's simulated members grade, one item each in turn, until their queues are empty.

    ``graders``: the models to use (names are usernames of simulated members); default:
    panel() over every simulated member, with ``seed`` and ``accuracy``. ``limit``: the
    most grades each grader gives in this call. ``progress`` is called after every
    COMMIT_EVERY grades. A second call grades only what is left.
    """
    members = {m.annotator.username: m.annotator for m in
               Membership.objects.filter(campaign=campaign).select_related("annotator")}  # fmt: skip
    simulated = simulated_user_ids(u.pk for u in members.values())
    if graders is None:
        graders = panel([name for name, u in members.items() if u.pk in simulated], seed=seed, accuracy=accuracy)
    for grader in graders:
        user = members.get(grader.name)
        if user is None or user.pk not in simulated:
            raise ValueError(f"{grader.name} is not a simulated annotator of campaign {campaign.name!r}")
    truths = _truths(campaign)
    summary = GradingSummary(per_grader={g.name: 0 for g in graders})
    grades: Counter[str] = Counter()
    # Each grader's item in hand: an assignment id, then the one grade_and_next leased behind it.
    current: dict[str, tuple[int, int] | None] = {}
    started = time.perf_counter()
    active = list(graders)
    while active:
        with transaction.atomic():
            for _ in range(COMMIT_EVERY):
                if not active:
                    break
                grader = active.pop(0)
                user = members[grader.name]
                done = summary.per_grader[grader.name]
                if limit is not None and done >= limit:
                    continue  # this grader gave its share
                if grader.name not in current:
                    lease = next_assignment(campaign, user)
                    current[grader.name] = (lease.pk, lease.entry_id) if lease else None
                held = current[grader.name]
                if held is None:
                    continue  # nothing left for this grader
                truth, key, is_control = truths[held[1]]
                grade, seconds = grader.grade(truth, key)
                want_next = limit is None or done + 1 < limit
                body = grade_and_next(held[0], {"grade": grade, "seconds": seconds}, annotator=user,
                                      want_next=want_next, exclude=set())
                following = body.get("next")
                current[grader.name] = (following["assignment"], following["entry"]) if following else None
                summary.graded += 1
                summary.per_grader[grader.name] = done + 1
                summary.controls += is_control
                summary.matches_truth += grade == truth
                grades[grade] += 1
                active.append(grader)
        summary.grades = dict(grades)
        summary.seconds = time.perf_counter() - started
        if progress is not None:
            progress(summary)
    summary.seconds = time.perf_counter() - started
    return summary
