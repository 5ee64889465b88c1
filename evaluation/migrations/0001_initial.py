"""EvaluationRun and Prediction move here from training, in Django's state only: their tables
keep the names training gave them (training_evaluationrun, training_prediction), so no row
moves; their content types follow, so permissions and admin history keep pointing at them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from config.model_moves import move_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('catalog', '0001_initial'),
        ('exports', '0001_initial'),
        ('training', '0006_evaluation_moves_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='EvaluationRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=16)),
                        ('cancel_requested', models.BooleanField(default=False)),
                        ('message', models.TextField(blank=True, help_text='Why the job failed, and how to fix it.')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, help_text='How many times a worker started the job.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('name', models.CharField(blank=True, help_text='How result tables label the model.', max_length=200)),
                        ('model_path', models.CharField(blank=True, help_text="A Llava checkpoint, when not a job's output.", max_length=500)),
                        ('benchmark', models.CharField(help_text='scienceqa, textvqa or pope.', max_length=16)),
                        ('split', models.CharField(help_text="POPE: random, popular, adversarial; else the file's split.", max_length=32)),
                        ('language', models.CharField(default='fr', max_length=8)),
                        ('pipeline', models.CharField(choices=[('direct', 'Direct'), ('translation_only', 'translation-only')], default='direct', max_length=20)),
                        ('engine', models.CharField(blank=True, help_text='Translation engine (translation-only).', max_length=32)),
                        ('references', models.CharField(blank=True, help_text='The benchmark file scored against.', max_length=500)),
                        ('prompts', models.JSONField(blank=True, default=dict, help_text='Prompt suffixes used, and their translations.')),
                        ('max_new_tokens', models.PositiveSmallIntegerField(default=16)),
                        ('batch_size', models.PositiveSmallIntegerField(default=64)),
                        ('limit', models.PositiveIntegerField(blank=True, help_text='Evaluate the first N items only.', null=True)),
                        ('queue', models.CharField(default='gpu', max_length=16)),
                        ('total', models.PositiveIntegerField(default=0)),
                        ('done', models.PositiveIntegerField(default=0)),
                        ('items_per_s', models.FloatField(blank=True, null=True)),
                        ('predictions_file', models.CharField(blank=True, help_text='JSONL, relative to MODEL_ROOT.', max_length=500)),
                        ('metrics', models.JSONField(blank=True, default=dict, help_text='Per parser: metrics with 95% bootstrap CIs.')),
                        ('diagnostics', models.JSONField(blank=True, default=list)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('dataset', models.ForeignKey(blank=True, help_text='The English benchmark dataset.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='catalog.dataset')),
                        ('snapshot', models.ForeignKey(blank=True, help_text='The French benchmark snapshot.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='exports.snapshot')),
                        ('training_job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='training.trainingjob')),
                    ],
                    options={
                        'db_table': 'training_evaluationrun',
                        'ordering': ['-created_at'],
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='Prediction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('question_id', models.CharField(max_length=200)),
                        ('question', models.TextField(help_text='The prompt the model saw.')),
                        ('prediction', models.TextField(help_text='The answer scored (French for translation-only runs).')),
                        ('english_prediction', models.TextField(blank=True, help_text="Translation-only: the model's English answer.")),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='predictions', to='evaluation.evaluationrun')),
                    ],
                    options={
                        'db_table': 'training_prediction',
                        'ordering': ['run', 'id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='evaluationrun',
                    index=models.Index(fields=['state', 'heartbeat_at'], name='evaluationrun_state_idx'),
                ),
                migrations.AddConstraint(
                    model_name='prediction',
                    constraint=models.UniqueConstraint(fields=('run', 'question_id'), name='prediction_once_per_item'),
                ),
            ],
        ),
        move_content_types("training", "evaluation", ("evaluationrun", "prediction")),
    ]
