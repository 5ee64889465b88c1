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

from config.database import is_postgresql

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
# The same latest final grade, looked up per row (PostgreSQL): FINAL_GRADES sorts every
# final grade before the first row comes out (over a second on 558,128), this yields rows
# at once, for a question that the first kept row answers (selects_any).
FINAL_GRADE_PER_ROW = """
    FROM translation_translation t
    JOIN audit_item i ON i.id = t.item_id
    JOIN audit_dataset d ON d.id = i.dataset_id
    LEFT JOIN LATERAL (
        SELECT f.grade, f.source, f.final_turns, f.entry_id
        FROM audit_finalgrade f JOIN audit_entry e ON e.id = f.entry_id
        WHERE e.translation_id = t.id AND e.is_control = %s
        ORDER BY f.decided_at DESC, f.id DESC LIMIT 1
    ) fg ON TRUE"""


def _text(column: str) -> str:
    return f"{column}::text" if is_postgresql() else column


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


def candidate_sql(
    spec: RuleSpec, *, with_meta: bool, ordered: bool = True, first_rows: bool = False
) -> tuple[str, list[Any]]:
    """Every translation in the rule's scope with its latest non-control final grade.

    `first_rows` (unordered, PostgreSQL): the first rows come at once, the whole scan costs more."""
    where, params = _scope(spec)
    meta = f"{_text('i.meta')}, {_text('t.meta')}" if with_meta else "'', ''"
    final_turns, post_edit = _edits(spec, text=True)
    per_row = first_rows and not ordered and is_postgresql()
    sql = f"""
        {"" if per_row else f"WITH {FINAL_GRADES}"}
        SELECT t.id, t.item_id, d.name, i.external_id, i.image, i.task_type, i.split, {_text('t.turns')}, {meta},
               t.engine, t.model, t.prompt_version, t.suggested_grade, fg.grade, fg.source, {final_turns}, {post_edit}
        {FINAL_GRADE_PER_ROW if per_row else SOURCE}
        WHERE {where}
    """
    return (sql + ORDER if ordered else sql), params


def candidates(spec: RuleSpec, *, with_meta: bool, ordered: bool = True, first_rows: bool = False,
               batch: int = 5000) -> Iterator[Candidate]:  # fmt: skip
    """Stream the candidate rows; on PostgreSQL through a server-side cursor (constant memory).

    Must run inside a transaction on PostgreSQL (named cursors live in one)."""
    sql, params = candidate_sql(spec, with_meta=with_meta, ordered=ordered, first_rows=first_rows)
    if is_postgresql():
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
        rows = candidates(spec, with_meta=False, ordered=False, first_rows=True, batch=500)
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


def _steps(rows: str, *steps: str) -> str:
    """WITH entries: `step0` holds `rows`, each next step adds its columns to the rows of the
    one before (and may use the columns before it); the last one is `step{len(steps)}`.

    A step is a subquery PostgreSQL may not fold into the next (OFFSET 0): folded, every
    mention of a column is a copy of its expression, evaluated again (the record was built
    four times per row, `turns->0->>'value'` taken seven times); one projection per step
    costs far less. Each entry is read once, so it is not materialized: rows stream through
    in the order of `rows`. Parameters follow the text: `rows`, then each step's in turn."""
    entries = [f"step0 AS {rows}"]
    for n, columns in enumerate(steps, start=1):
        entries.append(f"step{n} AS (SELECT r.*, {columns} FROM step{n - 1} r OFFSET 0)")
    return ",\n        ".join(entries)


def _decide(spec: RuleSpec) -> str:
    """rules.decide: the kept source, NULL for a row the rule drops. Parameters: allowed twice."""
    agreement = "TRUE" if spec.require_agreement else "FALSE"
    automatic = "TRUE" if spec.unaudited == "automatic" else "FALSE"
    return f"""CASE
            WHEN r.final_grade IS NOT NULL THEN CASE
                WHEN {agreement} AND r.final_source <> 'consensus' THEN NULL
                WHEN r.final_grade = ANY(%s) THEN r.final_source END
            WHEN {automatic} AND r.suggested_grade = ANY(%s) THEN 'automatic' END AS kept"""


# Only kept two-turn conversations (nearly every record) may take the fast path: their two
# turns, else NULL. No set-returning function per row: it would cost more than the Python
# loop it saves.
_PAIR = """CASE WHEN r.kept IS NOT NULL AND jsonb_typeof(r.turns) = 'array' AND jsonb_array_length(r.turns) = 2
            THEN r.turns->0 END AS human,
        CASE WHEN r.kept IS NOT NULL AND jsonb_typeof(r.turns) = 'array' AND jsonb_array_length(r.turns) = 2
            THEN r.turns->1 END AS gpt"""
_TEXTS = """r.human->>'value' AS q, r.gpt->>'value' AS a,
        r.human->>'from' = 'human' AND r.gpt->>'from' = 'gpt' AND jsonb_typeof(r.human->'value') = 'string'
            AND jsonb_typeof(r.gpt->'value') = 'string' AS roles"""
# fast: a question and an answer that llava_turns would return unchanged, and no post-edit.
_FAST = """COALESCE(r.roles AND strpos(r.a, '<image>') = 0
            AND CASE WHEN r.image <> ''
                     THEN left(r.q, 8) = E'<image>\\n' AND strpos(substr(r.q, 9), '<image>') = 0
                          AND substr(r.q, 9) = btrim(substr(r.q, 9), %s)
                     ELSE strpos(r.q, '<image>') = 0 END, false)
        AND (r.final_turns IS NULL OR r.final_turns IN ('null', '[]'))
        AND (r.post_edit IS NULL OR r.post_edit IN ('null', '[]')) AS fast"""
# the gpt turn's value as JSON: in the record, and for the balance report
_ANSWER = "CASE WHEN r.fast THEN to_json(r.a)::text END AS answer"


def _record(format: str) -> str:
    """The record's bytes as orjson.dumps writes formats.llava_record / JsonlWriter's dict."""
    record = """'{"id":' || to_json(r.external_id)::text
        || CASE WHEN r.image <> '' THEN ',"image":' || to_json(r.image)::text ELSE '' END
        || ',"conversations":[{"from":"human","value":' || to_json(r.q)::text
        || '},{"from":"gpt","value":' || r.answer || '}]'"""
    if format == "jsonl":
        record += """ || ',"dataset":' || to_json(r.dataset)::text || ',"task_type":' || to_json(r.task_type)::text
        || ',"split":' || to_json(r.split)::text
        || ',"audit":{"grade":' || to_json(COALESCE(r.final_grade, r.suggested_grade))::text
        || ',"grade_source":' || to_json(r.kept)::text || ',"automatic":' || (r.kept = 'automatic')::text
        || ',"post_edited":false,"engine":' || to_json(r.engine)::text || ',"model":' || to_json(r.model)::text
        || ',"prompt_version":' || to_json(r.prompt_version)::text || ',"translation_id":' || r.tid::text
        || ',"rule":' || to_json(%s::text)::text || '}'"""
    return f"CASE WHEN r.fast THEN {record} || '}}' END AS record"


def record_sql(spec: RuleSpec, format: str, rule_digest: str) -> tuple[str, list[Any]]:
    """COPY rows: item id, translation id, task type, kept source (or NULL), grade, the record
    (fast rows), the candidate tuple as JSON (kept rows Python must write), answers, option letter."""
    where, scope_params = _scope(spec)
    final_turns, post_edit = _edits(spec, text=False)
    allowed = sorted(ALLOWED[spec.min_grade])
    fast = format in FAST_FORMATS
    sorted_rows = f"""(  -- sorted before the records are made: the sort holds narrow rows, the records stream out
            SELECT t.id AS tid, t.item_id, d.name AS dataset, i.external_id, i.image, i.task_type, i.split,
                   i.source_index, t.turns, i.meta AS item_meta, t.meta AS translation_meta, t.engine, t.model,
                   t.prompt_version, t.suggested_grade, fg.grade AS final_grade, fg.source AS final_source,
                   {final_turns} AS final_turns, {post_edit} AS post_edit
            {SOURCE}
            WHERE {where}
            {ORDER}
        )"""
    if fast:
        steps = [_decide(spec), _PAIR, _TEXTS, _FAST, _ANSWER, _record(format)]
    else:
        steps = [_decide(spec), "NULL::text AS answer, NULL::text AS record"]
    sql = f"""
        WITH {FINAL_GRADES},
        {_steps(sorted_rows, *steps)}
        SELECT r.item_id, r.tid, to_json(r.task_type)::text, to_json(r.kept)::text,
               to_json(COALESCE(r.final_grade, r.suggested_grade))::text, r.record,
               CASE WHEN r.kept IS NOT NULL AND r.record IS NULL THEN json_build_array(
                   r.tid, r.item_id, r.dataset, r.external_id, r.image, r.task_type, r.split, r.turns::text,
                   r.item_meta::text, r.translation_meta::text, r.engine, r.model, r.prompt_version,
                   r.suggested_grade, r.final_grade, r.final_source, r.final_turns::text, r.post_edit::text)::text END,
               CASE WHEN r.record IS NOT NULL THEN r.answer END,
               CASE WHEN r.record IS NOT NULL AND r.task_type = 'scienceqa' THEN
                   CASE jsonb_typeof(r.item_meta->'answer')
                       WHEN 'number' THEN CASE WHEN (r.item_meta->>'answer') ~ '^[0-9]$'
                                               THEN substr('ABCDEFGHIJ', (r.item_meta->>'answer')::int + 1, 1) END
                       WHEN 'boolean' THEN CASE WHEN (r.item_meta->'answer')::text = 'true' THEN 'B' ELSE 'A' END
                   END END
        FROM step{len(steps)} r
    """
    # No outer ORDER BY: the steps above only project each row of the sorted subquery, in its
    # order. Sorting again after them would sort the records themselves: twice the memory,
    # and a spill to disk past work_mem on big snapshots.
    params: list[Any] = [*scope_params, allowed, allowed]
    if fast:
        params.append(_WHITESPACE)
        if format == "jsonl":
            params.append(rule_digest)
    copy = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')"
    return copy, params
