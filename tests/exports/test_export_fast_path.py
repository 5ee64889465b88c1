"""PostgreSQL's records (exports/query.py record_sql) are byte for byte what the Python writer makes.

The build writes most records in SQL and hands the rest to formats.py; both loops run
here over awkward data (image tokens in odd places, whitespace Python would strip,
escapes, several turns, broken roles, post-edits of both shapes, several translations
of one item) and must give the same file, item list, counts and balance report. Row by
row, the SQL's decision (query._decide) must be rules.decide's under every rule setting.
"""

from __future__ import annotations

import orjson
import pytest
from campaign_world import make_campaign, make_user
from django.db import connection

from audit.models import Entry, FinalGrade
from catalog.models import Dataset, Item
from exports.query import DELIMITER, candidates, record_sql
from exports.rules import decide, parse_rule
from exports.writing import write_export
from translation.models import Translation

pytestmark = pytest.mark.django_db


def pair(question: str, answer: str) -> list[dict]:
    return [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]


# (image, task type, meta, translated turns)
CASES = [
    ("a.png", "yes_no", {}, pair("<image>\nLa forme est-elle rouge ?", "Oui")),
    ("a.png", "yes_no", {}, pair("<image>\nEst-ce \"bleu\" \\ vert ?\ttab", "Non, c'est vert 😀.")),
    ("a.png", "caption", {}, pair("Décrivez l'image.\n<image>", "Un cercle rouge.")),  # token to move
    ("a.png", "caption", {}, pair("<image>\n  Décrivez l'image.", "Un carré.")),  # Python strips the spaces
    ("a.png", "caption", {}, pair("<image>\nDécrivez l'image.\u00a0", "Un carré.")),  # and a no-break space
    ("a.png", "caption", {}, pair("Pas de jeton ici.", "Un triangle.")),  # the token gets added
    ("", "reading", {}, pair("Sans image : que lit-on ?", "12")),
    ("", "reading", {}, pair("<image>\nSans image mais avec le jeton", "B")),
    ("a.png", "conversation", {}, pair("<image>\nQuoi ?", "Un cercle.") + pair("Et puis ?", "Oui.")),
    ("a.png", "conversation", {}, [{"from": "gpt", "value": "Oui"}, {"from": "human", "value": "<image>\nQ"}]),
    ("a.png", "scienceqa", {"answer": 2, "choices": ["a", "b", "c"]}, pair("<image>\nQuelle couleur ?", "vert")),
    ("a.png", "multiple_choice", {}, pair("<image>\nA. rouge\nB. bleu", "(A) rouge")),
    ("a.png", "caption", {}, pair("<image>\n\u0001 contrôle \u001f", "fin\n")),
    # JSON escapes orjson and PostgreSQL's to_json must write alike
    ("a.png", "caption", {}, pair("<image>\n\b\f\r \u007f \u2028 \u2029 \ufeff / </script>", "\u00e9\u0301 \U0001f1eb\U0001f1f7")),
    ("a.png", "caption", {}, pair("<image>\n", "")),  # nothing after the token, an empty answer
    ("a.png", "yes_no", {}, pair("<image>\nQ ?", "<image>")),  # a token in the answer
]


@pytest.fixture
def awkward(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path
    dataset = Dataset.objects.create(name="awkward", kind="train", source_format="llava")
    for index, (image, task, meta, turns) in enumerate(CASES * 2):
        item = Item.objects.create(dataset=dataset, external_id=f"x-{index}", image=image, task_type=task, meta=meta,
                                   conversations=turns, source_index=index, content_hash=str(index))  # fmt: skip
        Translation.objects.create(item=item, engine="apertium", turns=turns,
                                   suggested_grade=("high", "low", "moderate", "")[index % 4])  # fmt: skip
        if index % 5 == 0:  # a second engine's translation of the same item
            Translation.objects.create(item=item, engine="other", turns=pair("<image>\nAutre", "Oui"),
                                       suggested_grade="high")  # fmt: skip
    admin = make_user("boss", "admin")
    campaign = make_campaign(dataset, [make_user("ann", "annotator")], admin=admin, overlap=1, control_share=0)
    for n, entry in enumerate(Entry.objects.filter(campaign=campaign).order_by("id")):
        if n % 7 == 6:
            continue  # left unaudited
        final = FinalGrade(entry=entry, grade=("high", "moderate", "low")[n % 3], source=("consensus", "adjudication")[n % 4 == 1])
        if n % 9 == 0:  # a post-edit chosen at adjudication, in the grading API's shape: one string per turn
            final.final_turns = [f"<image>\nCorrigé {n}", "Corrigé."]
        elif n % 11 == 0:  # or as whole turns
            final.final_turns = pair("Corrigé, jeton à la fin\n<image>", "Non.")
        final.save()
    return tmp_path


RULES = [
    {"min_grade": "moderate"},
    {"min_grade": "high", "unaudited": "automatic"},
    {"min_grade": "moderate", "require_agreement": True, "use_post_edit": False},
]


@pytest.mark.parametrize("format", ["llava", "jsonl"])
@pytest.mark.parametrize("rule", RULES)
def test_sql_records_equal_the_python_writer(awkward, format, rule):
    spec = parse_rule(rule)
    fast = write_export(spec, format, awkward / f"fast.{format}", rule_digest="d" * 64)
    portable = write_export(spec, format, awkward / f"portable.{format}", rule_digest="d" * 64, portable=True)
    assert fast.item_count == portable.item_count > 5
    assert (awkward / f"fast.{format}").read_bytes() == (awkward / f"portable.{format}").read_bytes()
    assert fast.sha256 == portable.sha256
    assert (awkward / "fast.items").read_bytes() == (awkward / "portable.items").read_bytes()
    assert fast.counts == portable.counts and fast.skipped == portable.skipped
    assert fast.balance == portable.balance


@pytest.mark.postgresql(reason="the SQL writer streams records with COPY, which SQLite does not have")
def test_both_paths_are_exercised(awkward):
    """The comparison above means something only if SQL wrote some records and Python others."""
    sql, params = record_sql(parse_rule({"min_grade": "moderate"}), "llava", "d" * 64)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql, params) as copy:
        rows = [bytes(line)[:-1].split(DELIMITER) for line in copy]
    kept = [row for row in rows if row[3]]
    by_sql = sum(1 for row in kept if row[5])
    assert 0 < by_sql < len(kept)


# Every rule the decision depends on: the bar, agreement only, unaudited rows kept or not.
EVERY_DECISION = [
    {"min_grade": bar, "require_agreement": agreement, "unaudited": unaudited}
    for bar in ("high", "moderate", "low") for agreement in (False, True) for unaudited in ("exclude", "automatic")
]  # fmt: skip


@pytest.mark.postgresql(reason="the SQL decision (query._decide) runs inside record_sql's COPY")
@pytest.mark.parametrize("rule", EVERY_DECISION, ids=lambda rule: "-".join(str(v) for v in rule.values()))
def test_sql_decides_every_row_as_rules_decide_does(awkward, rule):
    """Row by row, before the first-translation-per-item step: the kept source SQL writes is
    rules.decide's, over final grades of every level and source, unaudited rows and every
    suggested grade (including none)."""
    for n, item in enumerate(Item.objects.order_by("id")[:8]):  # unaudited: translated after the campaign
        Translation.objects.create(item=item, engine="late", turns=item.conversations,
                                   suggested_grade=("high", "moderate", "low", "")[n % 4])  # fmt: skip
    spec = parse_rule(rule)
    sql, params = record_sql(spec, "llava", "d" * 64)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql, params) as copy:
        by_sql = {int(row[1]): orjson.loads(row[3]) if row[3] else None
                  for row in (bytes(line)[:-1].split(DELIMITER) for line in copy)}  # fmt: skip
    by_python = {row[0]: decide(spec, row[14], row[15], row[13]) for row in candidates(spec, with_meta=False)}
    assert by_sql == by_python
    assert len(by_python) == Translation.objects.count() and len(set(by_python.values())) >= 2


def test_a_post_edit_in_the_grading_apis_shape_replaces_the_turns_text(awkward):
    """FinalGrade.final_turns from do_adjudicate is one string per turn; the export keeps the roles."""
    result = write_export(parse_rule({"min_grade": "moderate"}), "llava", awkward / "all.json", rule_digest="d" * 64)
    records = {r["id"]: r for r in orjson.loads((awkward / "all.json").read_bytes())}
    edited = [r for r in records.values() if r["conversations"][1]["value"] == "Corrigé."]
    assert edited and result.balance["post_edit_share"] > 0
    assert all(r["conversations"][0] == {"from": "human", "value": r["conversations"][0]["value"]} for r in edited)
    assert any(r["conversations"][0]["value"].startswith("<image>\nCorrigé ") for r in edited)
