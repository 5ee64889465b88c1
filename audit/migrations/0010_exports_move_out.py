"""FilterRule and Snapshot now live in exports (state only: the tables stay, see exports/0001).

Their content types follow, so permissions and admin history keep pointing at them."""

from django.db import migrations

from config.model_moves import move_content_types


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('audit', '0009_datasets_move_to_catalog'),
        ('training', '0005_snapshots_in_exports'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='snapshot',
                    name='rule',
                ),
                migrations.RemoveField(
                    model_name='snapshot',
                    name='created_by',
                ),
                migrations.DeleteModel(
                    name='FilterRule',
                ),
                migrations.DeleteModel(
                    name='Snapshot',
                ),
            ],
        ),
        move_content_types("audit", "exports", ("filterrule", "snapshot")),
    ]
