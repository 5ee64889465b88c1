"""The Celery app. Queues: `default` (CPU work) and `gpu` (training, evaluation,
in-process vLLM translation); routing by task name lives in settings.CELERY_TASK_ROUTES."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("relecture")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.autodiscover_tasks()
app.autodiscover_tasks(["jobs"], related_name="lifecycle")  # recovery of every kind of job at worker start
