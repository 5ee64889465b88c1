"""Evaluation runs point at catalog's Dataset (state only, see catalog/0001)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('training', '0003_lifecycle_fields'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='evaluationrun',
                    name='dataset',
                    field=models.ForeignKey(blank=True, help_text='The English benchmark dataset.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='catalog.dataset'),
                ),
            ],
        ),
    ]
