"""Creating an audit campaign: validate, sample translations, make control items, open slots.

`create_campaign` is the only way a campaign comes to exist (admin form, REST API,
benchmark). It runs in one transaction: a campaign that fails validation leaves no
row behind. Positions fix the queue order the sampling chose; audit/assignment.py
walks them.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.roles import ANNOTATOR, role_of
from catalog.models import Dataset
from config.database import is_postgresql
from config.pg_copy import NULL, copy_text, write_lines
from translation.models import Translation

from .controls import make_control
from .models import Assignment, Campaign, Entry, Membership

MAX_INT = 2**31 - 1
MAX_CONTROLS = 300
"""Control pool cap: each control has one slot per annotator, so a pool of 5% of a
million translations would mean millions of slots. An annotator who has seen every
control simply gets regular items; 300 is enough for ~6,000 items each at 5%."""
# Most uncertain first: the checks' middle grade, then unchecked, then low, then high.
UNCERTAINTY_ORDER = {"moderate": 0, "": 1, "low": 2, "high": 3}


@dataclass
class CampaignSpec:
    name: str
    dataset: Dataset
    annotators: Sequence[User]
    overlap: int = 2
    control_share: float = 0.05
    sampling: str = Campaign.Sampling.ALL
    sample_size: int | None = None
    target_language: str = "fr"
    engine: str = ""
    model: str = ""
    prompt_version: str = ""
    lease_minutes: int = 15
    seed: int = 0


def validate_spec(spec: CampaignSpec) -> None:
    """Raise ValidationError naming each bad field; nothing is written."""
    errors: dict[str, list[str]] = defaultdict(list)
    if not spec.annotators:
        errors["annotators"].append("choose at least one annotator")
    for user in spec.annotators:
        if role_of(user) != ANNOTATOR:
            errors["annotators"].append(f"{user.username} is not an annotator")
    if spec.overlap < 1:
        errors["overlap"].append("overlap k must be at least 1")
    elif spec.overlap > len(spec.annotators):
        errors["overlap"].append(
            f"overlap k={spec.overlap} needs at least {spec.overlap} annotators; {len(spec.annotators)} chosen"
        )
    if not 0 <= spec.control_share <= 0.5:
        errors["control_share"].append("control share must lie between 0 and 0.5")
    if spec.sampling not in Campaign.Sampling.values:
        errors["sampling"].append(f"unknown sampling {spec.sampling!r}")
    if spec.sampling in (Campaign.Sampling.RANDOM, Campaign.Sampling.STRATIFIED) and not spec.sample_size:
        errors["sample_size"].append(f"sampling {spec.sampling!r} needs a sample size N > 0")
    if not 1 <= spec.lease_minutes <= 24 * 60:
        errors["lease_minutes"].append("lease must last between 1 minute and one day")
    for name in ("name", "target_language", "engine", "model", "prompt_version"):
        value = getattr(spec, name)
        if any(ord(c) < 32 for c in value):  # PostgreSQL cannot store NUL; no name holds a control character
            errors[name].append(f"{name} holds a control character")
    for name in ("seed", "sample_size"):
        value = getattr(spec, name)
        if value is not None and not 0 <= value <= MAX_INT:  # the columns are PostgreSQL integers
            errors[name].append(f"{name} must lie between 0 and {MAX_INT}")
    if errors:  # the name lookup below cannot take a NUL either
        raise ValidationError(dict(errors))
    if Campaign.objects.filter(name=spec.name).exists():
        errors["name"].append(f"a campaign named {spec.name!r} already exists")
    if errors:
        raise ValidationError(dict(errors))


def _candidates(spec: CampaignSpec):
    query = Translation.objects.filter(item__dataset=spec.dataset, target_language=spec.target_language)
    for field_name in ("engine", "model", "prompt_version"):
        if getattr(spec, field_name):
            query = query.filter(**{field_name: getattr(spec, field_name)})
    return query


def sample(rows: list[tuple[int, str, str, int]], spec: CampaignSpec) -> list[tuple[int, str]]:
    """(translation id, task type) in queue order, from (id, task type, suggested grade, source index) rows."""
    rng = random.Random(spec.seed)
    rows.sort(key=lambda row: (row[3], row[0]))
    if spec.sampling == Campaign.Sampling.ALL:
        chosen = rows
    elif spec.sampling == Campaign.Sampling.UNCERTAIN:
        chosen = sorted(rows, key=lambda row: UNCERTAINTY_ORDER.get(row[2], 1))[: spec.sample_size or None]
    elif spec.sampling == Campaign.Sampling.RANDOM:
        chosen = rng.sample(rows, min(spec.sample_size or 0, len(rows)))
    else:  # stratified: proportional allocation by task type (largest remainder), random within each
        strata: dict[str, list] = defaultdict(list)
        for row in rows:
            strata[row[1]].append(row)
        n = min(spec.sample_size or 0, len(rows))
        quotas = {name: n * len(members) / len(rows) for name, members in strata.items()}
        sizes = {name: math.floor(q) for name, q in quotas.items()}
        for name in sorted(quotas, key=lambda s: quotas[s] - sizes[s], reverse=True)[: n - sum(sizes.values())]:
            sizes[name] += 1
        chosen = [row for name, members in sorted(strata.items()) for row in rng.sample(members, sizes[name])]
        rng.shuffle(chosen)
    return [(row[0], row[1]) for row in chosen]


@transaction.atomic
def create_campaign(spec: CampaignSpec, *, acting_user: User) -> Campaign:
    validate_spec(spec)
    rows = list(_candidates(spec).values_list("id", "item__task_type", "suggested_grade", "item__source_index"))
    if not rows:
        raise ValidationError({"dataset": [f"no {spec.target_language} translation of {spec.dataset} matches the filter"]})
    chosen = sample(rows, spec)
    campaign = Campaign.objects.create(
        name=spec.name, dataset=spec.dataset, target_language=spec.target_language, engine=spec.engine,
        model=spec.model, prompt_version=spec.prompt_version, sampling=spec.sampling, sample_size=spec.sample_size,
        seed=spec.seed, overlap=spec.overlap, control_share=spec.control_share, lease_minutes=spec.lease_minutes,
        population=len(rows), size=len(chosen), created_by=acting_user,
    )  # fmt: skip
    rng = random.Random(spec.seed + 1)
    Membership.objects.bulk_create(
        Membership(campaign=campaign, annotator=user, control_phase=rng.random()) for user in spec.annotators
    )
    _write_entries(campaign, ((tid, task, False, "", None) for tid, task in chosen))
    _write_entries(campaign, _controls(spec, chosen, rng))
    _open_slots(campaign, is_control=False, slots=spec.overlap)
    _open_slots(campaign, is_control=True, slots=len(spec.annotators))
    return campaign


def _controls(spec: CampaignSpec, chosen: list[tuple[int, str]], rng: random.Random) -> Iterable[tuple]:
    if spec.control_share <= 0:
        return []
    wanted = min(MAX_CONTROLS, math.ceil(len(chosen) * spec.control_share / (1 - spec.control_share)))
    picked = rng.sample(chosen, min(len(chosen), wanted * 2))  # some translations admit no corruption
    translations = Translation.objects.select_related("item").in_bulk([tid for tid, _ in picked])
    answers = [
        turn["value"] for t in translations.values() for turn in t.turns[-1:] if turn.get("from") == "gpt"
    ]
    controls = []
    for tid, task in picked:
        translation = translations[tid]
        made = make_control(translation.turns, translation.item.conversations, rng, answers)
        if made:
            controls.append((tid, task, True, made[0], made[1]))
        if len(controls) == wanted:
            break
    return controls


def _write_entries(campaign: Campaign, rows: Iterable[tuple[int, str, bool, str, list | None]]) -> None:
    """Entries in queue order. COPY on PostgreSQL (a million rows in seconds), bulk_create elsewhere."""
    if not is_postgresql():
        Entry.objects.bulk_create(
            (
                Entry(campaign=campaign, translation_id=tid, position=position, stratum=task, is_control=control,
                      control_kind=kind, control_turns=turns)  # fmt: skip
                for position, (tid, task, control, kind, turns) in enumerate(rows)
            ),
            batch_size=2000,
        )
        return
    columns = "campaign_id, translation_id, position, stratum, is_control, control_kind, control_turns, flagged"
    lines = (
        f"{campaign.pk}\t{tid}\t{position}\t{copy_text(task)}\t{'t' if control else 'f'}\t{copy_text(kind)}"
        f"\t{NULL if turns is None else copy_text(orjson.dumps(turns).decode())}\tf\n"
        for position, (tid, task, control, kind, turns) in enumerate(rows)
    )
    with connection.cursor() as cursor:
        write_lines(cursor.cursor, f"COPY audit_entry ({columns}) FROM STDIN", lines, chunk_rows=5000)


def _open_slots(campaign: Campaign, *, is_control: bool, slots: int) -> None:
    """k slots per regular entry, one per annotator per control: the cap on grades is structural."""
    numbers = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(slots))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Assignment._meta.db_table} (campaign_id, entry_id, slot, position, is_control, state)"
            f" SELECT e.campaign_id, e.id, s.n, e.position, e.is_control, 'open'"
            f" FROM {Entry._meta.db_table} e CROSS JOIN ({numbers}) s"
            f" WHERE e.campaign_id = %s AND e.is_control = %s",
            [campaign.pk, is_control],
        )
