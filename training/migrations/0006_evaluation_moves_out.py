"""EvaluationRun and Prediction now live in evaluation (state only: the tables stay, see
evaluation/0001, which also moves their content types)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('training', '0005_snapshots_in_exports'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='prediction',
                    name='run',
                ),
                migrations.DeleteModel(
                    name='EvaluationRun',
                ),
                migrations.DeleteModel(
                    name='Prediction',
                ),
            ],
        ),
    ]
