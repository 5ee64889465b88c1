"""Dataset and Item move here from audit, in Django's state only: their tables keep the
names audit gave them (audit_dataset, audit_item), so no row moves. audit/0009 removes
them from audit's state once every foreign key points here."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables exist (audit created them) before this app takes them over.
        ('audit', '0008_assessment_client_key'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Dataset',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.SlugField(max_length=100, unique=True)),
                        ('kind', models.CharField(choices=[('train', 'training data'), ('benchmark', 'benchmark')], max_length=16)),
                        ('source_format', models.CharField(max_length=16)),
                        ('language', models.CharField(default='en', max_length=8)),
                        ('image_root', models.CharField(blank=True, help_text='Directory that item image paths are relative to.', max_length=500)),
                        ('source_path', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'audit_dataset',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Item',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('external_id', models.CharField(max_length=200)),
                        ('image', models.CharField(blank=True, help_text="Relative to the dataset's image root.", max_length=500)),
                        ('conversations', models.JSONField(help_text="LLaVA turns: [{'from': 'human'|'gpt', 'value': str}, ...]")),
                        ('task_type', models.CharField(choices=[('caption', 'Caption'), ('colour', 'Colour'), ('count', 'Count'), ('position', 'Position'), ('yes_no', 'yes/no'), ('reading', 'Reading'), ('multiple_choice', 'multiple choice'), ('conversation', 'Conversation'), ('scienceqa', 'ScienceQA'), ('textvqa', 'TextVQA'), ('pope', 'POPE')], max_length=32)),
                        ('split', models.CharField(blank=True, help_text="Benchmark split, e.g. POPE's 'adversarial'.", max_length=32)),
                        ('meta', models.JSONField(blank=True, default=dict, help_text='Choices and answer index, reference answers, labels.')),
                        ('source_index', models.PositiveIntegerField(help_text='Position of the record in the imported file.')),
                        ('content_hash', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='catalog.dataset')),
                    ],
                    options={
                        'db_table': 'audit_item',
                        'ordering': ['dataset_id', 'source_index'],
                        'indexes': [models.Index(fields=['dataset', 'source_index'], name='item_dataset_order_idx')],
                        'constraints': [models.UniqueConstraint(fields=('dataset', 'external_id'), name='item_unique_external_id')],
                    },
                ),
            ],
        ),
    ]
