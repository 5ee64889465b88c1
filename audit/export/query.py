"""The queries of a build: the rule's candidates, and (PostgreSQL) the records themselves.

`candidate_sql` lists every translation in the rule's scope with its latest non-control
final grade; `build.selects_any` and the portable build loop (writing.py) read it row
by row. On PostgreSQL, `record_sql` runs the same selection and also decides each row
(a mirror of `rules.decide`) and writes the LLaVA / JSONL record's bytes, as orjson
would, for every row whose turns are already what LLaVA's loader wants; Python then only
frames, hashes and counts. Rows it cannot vouch for (a post-edit, turns to repair, the
benchmark format) come out as the candidate tuple and go through the Python writer, so
both paths share one definition of the format (tests/audit/test_export_fast_path.py
checks they give the same bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from .rules import ALLOWED, RuleSpec, decide

# (translation id, item id, dataset, external id, image, task type, split, turns, item meta,
#  translation meta, engine, model, prompt version, suggested grade, final grade, final source,
#  final turns, an annotator's post-edit)
Candidate = tuple[Any, ...]

# Control entries are excluded here, so a control item's grade never counts as a
# translation's grade, and their corrupted turns (Entry.control_turns) are never read.
FINAL_GRADES = """
    fg AS (
        SELECT e.translation_id AS tid, f.grade, f.source, f.final_turns, f.entry_id,
               ROW_NUMBER() OVER (PARTITION BY e.translation_id ORDER BY f.decided_at DESC, f.id DESC) AS rn
        FROM audit_finalgrade f JOIN audit_entry e ON e.id = f.entry_id
        WHERE e.is_control = %s
    )"""
SOURCE = """
    FROM translation_translation t
    JOIN audit_item i ON i.id = t.item_id
    JOIN audit_dataset d ON d.id = i.dataset_id
    LEFT JOIN fg ON fg.tid = t.id AND fg.rn = 1"""
ORDER = " ORDER BY d.name, i.source_index, t.id"


def _text(column: str) -> str:
    return f"{column}::text" if connection.vendor == "postgresql" else column


def _scope(spec: RuleSpec) -> tuple[str, list[Any]]:
    """The WHERE clause of the rule's scope, after the final-grade CTE's one parameter."""
    params: list[Any] = [False, spec.target_language]
    where = ["t.target_language = %s"]
    for column, values in (("d.name", spec.datasets), ("i.split", spec.splits), ("i.task_type", spec.task_types)):
        if values:
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    for column, value in (("t.engine", spec.engine), ("t.model", spec.model), ("t.prompt_version", spec.prompt_version)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(where), params


def _edits(spec: RuleSpec, text: bool) -> tuple[str, str]:
    """(the final post-edit, an annotator's post-edit) columns the rule reads, else NULL."""
    cast = _text if text else (lambda column: column)
    post_edit = "NULL"
    if spec.use_post_edit and spec.post_edit_from_assessments:
        post_edit = (
            f"(SELECT {cast('a.post_edit')} FROM audit_assessment a WHERE a.entry_id = fg.entry_id"
            " AND a.post_edit IS NOT NULL ORDER BY a.id LIMIT 1)"
        )
    final_turns = cast("fg.final_turns") if spec.use_post_edit else "NULL"
    return final_turns, post_edit


def candidate_sql(spec: RuleSpec, *, with_meta: bool, ordered: bool = True) -> tuple[str, list[Any]]:
    """Every translation in the rule's scope with its latest non-control final grade."""
    where, params = _scope(spec)
    meta = f"{_text('i.meta')}, {_text('t.meta')}" if with_meta else "'', ''"
    final_turns, post_edit = _edits(spec, text=True)
    sql = f"""
        WITH {FINAL_GRADES}
        SELECT t.id, t.item_id, d.name, i.external_id, i.image, i.task_type, i.split, {_text('t.turns')}, {meta},
               t.engine, t.model, t.prompt_version, t.suggested_grade, fg.grade, fg.source, {final_turns}, {post_edit}
        {SOURCE}
        WHERE {where}
    """
    return (sql + ORDER if ordered else sql), params


def candidates(spec: RuleSpec, *, with_meta: bool, ordered: bool = True, batch: int = 5000) -> Iterator[Candidate]:
    """Stream the candidate rows; on PostgreSQL through a server-side cursor (constant memory).

    Must run inside a transaction on PostgreSQL (named cursors live in one)."""
    sql, params = candidate_sql(spec, with_meta=with_meta, ordered=ordered)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor(name="export_candidates") as cursor:
            cursor.itersize = batch
            # The ordered scan sorts the rows once; in memory it takes seconds, on disk minutes.
            connection.connection.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(sql, params)
            yield from cursor
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows


def selects_any(spec: RuleSpec) -> tuple[bool, int]:
    """(whether the rule keeps at least one translation, candidates looked at)."""
    seen = 0
    with transaction.atomic():
        rows = candidates(spec, with_meta=False, ordered=False, batch=500)
        try:
            for row in rows:
                seen += 1
                if decide(spec, row[14], row[15], row[13]) is not None:
                    return True, seen
        finally:
            rows.close()  # closes the server-side cursor inside its transaction
    return False, seen


# --- PostgreSQL writes the records -----------------------------------------------------------

# The characters Python's str.strip() removes: llava_turns strips a turn holding <image>,
# so a first turn whose text after "<image>\n" starts or ends with one is left to Python
# (btrim with this set: a regex here cost a fifth of the query).
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
# COPY ... (FORMAT csv) with these as delimiter and quote: every text column below is JSON
# (control characters escaped), so neither ever appears in a value and no value is quoted.
DELIMITER, QUOTE = b"\x1f", b"\x1e"
FAST_FORMATS = ("llava", "jsonl")


def _turns_columns() -> str:
    """ok (a question and an answer that llava_turns would return unchanged), conv (them as
    orjson writes them), answer (the gpt value as JSON, for the balance report).

    Only two-turn conversations (nearly every record) take this path; no set-returning
    function per row, which would cost more than the whole Python loop it saves."""
    is_pair = "CASE WHEN jsonb_typeof(c.turns) = 'array' THEN jsonb_array_length(c.turns) = 2 ELSE false END"
    return f"""
        COALESCE(CASE WHEN k.kept IS NOT NULL AND {is_pair} THEN
            c.turns->0->>'from' = 'human' AND c.turns->1->>'from' = 'gpt'
            AND jsonb_typeof(c.turns->0->'value') = 'string' AND jsonb_typeof(c.turns->1->'value') = 'string'
            AND strpos(v.a, '<image>') = 0
            AND CASE WHEN c.image <> ''
                     THEN left(v.q, 8) = E'<image>\\n' AND strpos(substr(v.q, 9), '<image>') = 0
                          AND substr(v.q, 9) = btrim(substr(v.q, 9), %s)
                     ELSE strpos(v.q, '<image>') = 0 END
        END, false) AS ok,
        '[{{"from":"human","value":' || to_json(v.q)::text || '}},{{"from":"gpt","value":' || to_json(v.a)::text
            || '}}]' AS conv,
        to_json(v.a)::text AS answers"""


def _record(format: str) -> str:
    """The record's bytes as orjson.dumps writes formats.llava_record / JsonlWriter's dict."""
    record = """'{"id":' || to_json(c.external_id)::text
        || CASE WHEN c.image <> '' THEN ',"image":' || to_json(c.image)::text ELSE '' END
        || ',"conversations":' || tt.conv"""
    if format == "jsonl":
        record += """ || ',"dataset":' || to_json(c.dataset)::text || ',"task_type":' || to_json(c.task_type)::text
        || ',"split":' || to_json(c.split)::text
        || ',"audit":{"grade":' || to_json(COALESCE(c.final_grade, c.suggested_grade))::text
        || ',"grade_source":' || to_json(k.kept)::text || ',"automatic":' || (k.kept = 'automatic')::text
        || ',"post_edited":false,"engine":' || to_json(c.engine)::text || ',"model":' || to_json(c.model)::text
        || ',"prompt_version":' || to_json(c.prompt_version)::text || ',"translation_id":' || c.tid::text
        || ',"rule":' || to_json(%s::text)::text || '}'"""
    return record + " || '}'"


def record_sql(spec: RuleSpec, format: str, rule_digest: str) -> tuple[str, list[Any]]:
    """COPY rows: item id, translation id, task type, kept source (or NULL), grade, the record
    (fast rows), the candidate tuple as JSON (kept rows Python must write), answers, option letter."""
    where, scope_params = _scope(spec)
    final_turns, post_edit = _edits(spec, text=False)
    allowed = sorted(ALLOWED[spec.min_grade])
    agreement = "TRUE" if spec.require_agreement else "FALSE"
    automatic = "TRUE" if spec.unaudited == "automatic" else "FALSE"
    fast = format in FAST_FORMATS
    unedited = "(c.final_turns IS NULL OR c.final_turns IN ('null', '[]')) AND (c.post_edit IS NULL OR c.post_edit IN ('null', '[]'))"
    record = f"CASE WHEN k.kept IS NOT NULL AND tt.ok AND {unedited} THEN {_record(format)} END" if fast else "NULL"
    sql = f"""
        WITH {FINAL_GRADES}
        SELECT c.item_id, c.tid, to_json(c.task_type)::text, to_json(k.kept)::text,
               to_json(COALESCE(c.final_grade, c.suggested_grade))::text, r.record,
               CASE WHEN k.kept IS NOT NULL AND r.record IS NULL THEN json_build_array(
                   c.tid, c.item_id, c.dataset, c.external_id, c.image, c.task_type, c.split, c.turns::text,
                   c.item_meta::text, c.translation_meta::text, c.engine, c.model, c.prompt_version,
                   c.suggested_grade, c.final_grade, c.final_source, c.final_turns::text, c.post_edit::text)::text END,
               CASE WHEN r.record IS NOT NULL THEN tt.answers END,
               CASE WHEN r.record IS NOT NULL AND c.task_type = 'scienceqa' THEN
                   CASE jsonb_typeof(c.item_meta->'answer')
                       WHEN 'number' THEN CASE WHEN (c.item_meta->>'answer') ~ '^[0-9]$'
                                               THEN substr('ABCDEFGHIJ', (c.item_meta->>'answer')::int + 1, 1) END
                       WHEN 'boolean' THEN CASE WHEN (c.item_meta->'answer')::text = 'true' THEN 'B' ELSE 'A' END
                   END END
        FROM (  -- sorted before the records are made: the sort holds narrow rows, the records stream out
            SELECT t.id AS tid, t.item_id, d.name AS dataset, i.external_id, i.image, i.task_type, i.split,
                   i.source_index, t.turns, i.meta AS item_meta, t.meta AS translation_meta, t.engine, t.model,
                   t.prompt_version, t.suggested_grade, fg.grade AS final_grade, fg.source AS final_source,
                   {final_turns} AS final_turns, {post_edit} AS post_edit
            {SOURCE}
            WHERE {where}
            {ORDER}
        ) c
        CROSS JOIN LATERAL (SELECT CASE  -- rules.decide
            WHEN c.final_grade IS NOT NULL THEN CASE
                WHEN {agreement} AND c.final_source <> 'consensus' THEN NULL
                WHEN c.final_grade = ANY(%s) THEN c.final_source END
            WHEN {automatic} AND c.suggested_grade = ANY(%s) THEN 'automatic' END AS kept) k
        CROSS JOIN LATERAL (SELECT c.turns->0->>'value' AS q, c.turns->1->>'value' AS a) v
        CROSS JOIN LATERAL (SELECT {_turns_columns()}) tt
        CROSS JOIN LATERAL (SELECT {record} AS record) r
    """
    # No outer ORDER BY: the laterals above have no FROM, so they only project each row of
    # the sorted subquery, in its order. Sorting again after them would sort the records
    # themselves: twice the memory, and a spill to disk past work_mem on big snapshots.
    params: list[Any] = [*scope_params, allowed, allowed, _WHITESPACE]
    if fast and format == "jsonl":
        params.append(rule_digest)
    copy = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')"
    return copy, params
