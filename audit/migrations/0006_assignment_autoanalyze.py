"""Keep the planner's statistics of audit_assignment fresh while a campaign is graded (PostgreSQL only).

A campaign's slots are written with no annotator, and autovacuum analyzes the table right
after: annotator_id is then NULL in every sampled row. With the default thresholds the
next analyze waits for 10% of the table to change (200,000 slot updates, ~100,000 grades,
for 1,000,000 translations at k=2), and meanwhile the planner believes no slot has an
annotator. It then reads an annotator's held leases (assignment.MEMBER_SQL, every
grade-next) through the partial index assignment_one_per_annotator, i.e. every slot
anyone was ever given: 466 buffers and 1.9 ms at 20,000 grades, growing with the campaign.
Once analyzed it uses assignment_holder_idx: 7 buffers, 0.2 ms (docs/performance.md).
A fixed threshold analyzes every ~10,000 grades; ANALYZE samples 30,000 rows, a fraction
of a second, whatever the table's size.
"""

from django.db import migrations

TABLE = "audit_assignment"


def set_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 20000)"
        )


def reset_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)")


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_snapshot_heartbeat")]

    operations = [migrations.RunPython(set_thresholds, reset_thresholds)]
