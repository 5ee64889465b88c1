"""FilterRule and Snapshot move here from audit, in Django's state only: their tables keep
the names audit gave them (audit_filterrule, audit_snapshot), so no row moves. audit/0010
removes them from audit's state once every foreign key points here."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables exist (audit created them) before this app takes them over.
        ('audit', '0009_datasets_move_to_catalog'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FilterRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.SlugField(max_length=100, unique=True)),
                        ('spec', models.JSONField(help_text='The canonical rule: min_grade, require_agreement, unaudited, datasets, ...')),
                        ('digest', models.CharField(help_text='sha256 of the canonical spec.', max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'audit_filterrule',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Snapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('rule_spec', models.JSONField(help_text='A copy of the rule as it was built.')),
                        ('format', models.CharField(help_text='llava, jsonl or benchmark.', max_length=16)),
                        ('state', models.CharField(choices=[('queued', 'Queued'), ('building', 'Building'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('message', models.TextField(blank=True, help_text='Why the build failed.')),
                        ('file', models.CharField(blank=True, help_text='Relative to EXPORT_ROOT.', max_length=300)),
                        ('items_file', models.CharField(blank=True, help_text='The frozen item list (item, translation ids).', max_length=300)),
                        ('sha256', models.CharField(blank=True, max_length=64)),
                        ('size_bytes', models.BigIntegerField(default=0)),
                        ('item_count', models.PositiveIntegerField(default=0)),
                        ('counts', models.JSONField(blank=True, default=dict, help_text='Kept records per grade, task type and grade source.')),
                        ('balance', models.JSONField(blank=True, default=dict, help_text='exports.balance report.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text='Written every few seconds while building; stale means the worker died.', null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('rule', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='snapshots', to='exports.filterrule')),
                    ],
                    options={
                        'db_table': 'audit_snapshot',
                        'ordering': ['-created_at'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('state__in', ['queued', 'building'])), fields=('rule', 'format'), name='snapshot_one_active_build')],
                    },
                ),
            ],
        ),
    ]
