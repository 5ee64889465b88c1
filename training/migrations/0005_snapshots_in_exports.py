"""Training jobs and evaluation runs point at exports' Snapshot (state only, see exports/0001)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('exports', '0001_initial'),
        ('training', '0004_datasets_in_catalog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='evaluationrun',
                    name='snapshot',
                    field=models.ForeignKey(blank=True, help_text='The French benchmark snapshot.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='exports.snapshot'),
                ),
                migrations.AlterField(
                    model_name='trainingjob',
                    name='snapshots',
                    field=models.ManyToManyField(blank=True, related_name='training_jobs', to='exports.snapshot'),
                ),
            ],
        ),
    ]
