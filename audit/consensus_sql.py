"""audit.agreement.consensus in SQL: the steps of the grade-next statement that settle an entry.

The grading page's hot path (audit/grade_next.py, PostgreSQL) stores a grade and settles
its entry in one statement; these are its settling steps, kept beside the rule they
mirror. The rule is the ORM path's (grading._settle calling agreement.consensus): once
all k grades are in, a unanimous grade becomes final (source "consensus"), any
disagreement puts the entry in the adjudication queue; control entries never settle.
tests/audit/test_consensus_fast_path.py holds both paths to `consensus` over every
combination of grades for k = 1, 2, 3.

SETTLE is three WITH entries (verdict, final, pending) for a statement that is writing
this grade in another step: the verdict counts the grades already stored plus this one
(the caller holds the entry's lock, so no other grade arrives meanwhile). Named
parameters: entry, grade, is_control, overlap, now.
"""

from __future__ import annotations

SETTLE = """verdict AS (SELECT count(*) AS n, count(DISTINCT g.grade) AS kinds, min(g.grade) AS grade
              FROM (SELECT s.grade FROM audit_assessment s WHERE s.entry_id = %(entry)s
                    UNION ALL SELECT %(grade)s::varchar) g),
final AS (INSERT INTO audit_finalgrade (entry_id, grade, source, final_turns, decided_by_id, decided_at)
          SELECT %(entry)s, v.grade, 'consensus', NULL, NULL, %(now)s FROM verdict v
           WHERE NOT %(is_control)s AND v.n >= %(overlap)s AND v.kinds = 1
          ON CONFLICT (entry_id) DO UPDATE
             SET grade = EXCLUDED.grade, source = EXCLUDED.source, decided_by_id = NULL,
                 decided_at = EXCLUDED.decided_at),
pending AS (INSERT INTO audit_pendingadjudication (entry_id, created_at)
            SELECT %(entry)s, %(now)s FROM verdict v WHERE NOT %(is_control)s AND v.n >= %(overlap)s AND v.kinds > 1
            ON CONFLICT (entry_id) DO NOTHING)"""
