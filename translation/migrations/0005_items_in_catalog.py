"""Translations point at catalog's Item and Dataset (state only: the columns and their
constraints already point at those tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('translation', '0004_lifecycle_fields'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='translation',
                    name='item',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='translations', to='catalog.item'),
                ),
                migrations.AlterField(
                    model_name='translationjob',
                    name='dataset',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='translation_jobs', to='catalog.dataset'),
                ),
            ],
        ),
    ]
