"""Multi-node jobs: `gpus` becomes `gpus_per_node` beside `nodes`; one row per node of an attempt."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("training", "0001_jobs_and_evaluations")]

    operations = [
        migrations.RenameField("trainingjob", "gpus", "gpus_per_node"),
        migrations.AlterField(
            "trainingjob", "gpus_per_node",
            models.PositiveSmallIntegerField(default=1, help_text="Processes (GPUs) per machine, under torchrun."),
        ),
        migrations.AddField(
            "trainingjob", "nodes",
            models.PositiveSmallIntegerField(default=1, help_text="Machines: one Celery gpu worker each (training/nodes.py)."),
        ),
        migrations.AddField(
            "trainingjob", "rendezvous",
            models.CharField(blank=True, max_length=200, help_text="host:port of a multi-node job's torchrun rendezvous."),
        ),
        migrations.CreateModel(
            name="TrainingNode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("attempt", models.PositiveSmallIntegerField()),
                ("index", models.PositiveSmallIntegerField(help_text="The node's task: 0 claims the job and hosts the rendezvous.")),
                ("state", models.CharField(choices=[("waiting", "Waiting"), ("running", "Running"), ("done", "Done"), ("failed", "Failed"), ("cancelled", "Cancelled")], default="waiting", max_length=16)),
                ("worker", models.CharField(blank=True, help_text="The Celery worker's name.", max_length=200)),
                ("host", models.CharField(blank=True, max_length=200)),
                ("first_rank", models.PositiveIntegerField(blank=True, help_text="Its first global rank, once joined.", null=True)),
                ("step", models.PositiveIntegerField(default=0)),
                ("message", models.TextField(blank=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("job", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="nodes_run", to="training.trainingjob")),
            ],
            options={"ordering": ["job", "attempt", "index"]},
        ),
        migrations.AddConstraint(
            "trainingnode", models.UniqueConstraint(fields=("job", "attempt", "index"), name="trainingnode_once"),
        ),
    ]
