"""How many annotator grades stand behind a snapshot's records, and how many were simulated.

A kept record whose grade came from the audit rests on the grades of its latest final
grade's entry (the k annotators of that campaign); a record kept on its automatic
suggested grade rests on none. The build (build.py) stores the figure in the snapshot's
counts as {"people": n, "simulated": m}, so the snapshot page and the API say how much of
a training set a simulation decided (audit/simulated.py). `injected_kept` counts the
records whose translation carries an error injected on purpose, per kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.db.models import OuterRef, Subquery

from audit.models import Assessment, FinalGrade
from audit.simulated import simulated_flag
from translation.injection import count_injected
from translation.models import Translation

CHUNK = 500
"""Translation ids per query: well under SQLite's limit on parameters."""


def _translation_ids(items_file: Path) -> Iterator[int]:
    with open(items_file, "rb") as lines:
        for line in lines:
            _item, _, tid = line.rstrip(b"\n").partition(b"\t")
            yield int(tid)


def grades_behind(items_file: Path, counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """{"people": grades by people, "simulated": grades by simulated annotators} behind the frozen item list."""
    total = {"people": 0, "simulated": 0}
    if not any(counts.get("source", {}).get(source) for source in ("consensus", "adjudication")):
        return total  # every record kept on its suggested grade: no one graded them (and a big export reads nothing)
    latest = (
        FinalGrade.objects.filter(entry__translation_id=OuterRef("entry__translation_id"), entry__is_control=False)
        .order_by("-decided_at", "-pk")
        .values("entry_id")[:1]
    )
    simulated = simulated_flag("annotator_id")
    ids = _translation_ids(items_file)
    while chunk := list(islice(ids, CHUNK)):
        behind = Assessment.objects.filter(entry__translation_id__in=chunk, entry__is_control=False,
                                           entry_id=Subquery(latest))  # fmt: skip
        by_simulation = behind.filter(simulated).count()
        total["simulated"] += by_simulation
        total["people"] += behind.count() - by_simulation
    return total



def injected_kept(items_file: Path) -> dict[str, int]:
    """Kept records per injected error kind ("none" for clean ones): how many of the errors a
    study put in on purpose (translation/injection.py) this rule let through."""
    total: dict[str, int] = {}
    if not Translation.objects.exclude(injected_error="").exists():
        return total  # nothing was ever injected: a big export reads nothing more
    ids = _translation_ids(items_file)
    while chunk := list(islice(ids, CHUNK)):
        for kind, n in count_injected(Translation.objects.filter(pk__in=chunk)).items():
            total[kind] = total.get(kind, 0) + n
    return total
