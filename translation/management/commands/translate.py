"""python manage.py translate --dataset NAME --engine ENGINE [--model M] [--limit N] [--queue]"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from translation.engines import ENGINES
from translation.models import TranslationJob
from translation.services import JobError, create_job, enqueue, run_job


class Command(BaseCommand):
    help = "Translate a dataset to French, inline with a progress bar or as a queued Celery job."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--engine", required=True, help=f"One of: {', '.join(sorted(ENGINES))}.")
        parser.add_argument("--model", default="", help="Engine model (openai/vllm/hf).")
        parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                            help="Engine option, e.g. base_url=http://127.0.0.1:8001/v1 (repeatable).")  # fmt: skip
        parser.add_argument("--limit", type=int)
        parser.add_argument("--batch-size", type=int, help="Items per batch (default: the engine's).")
        parser.add_argument("--no-round-trip", action="store_true", help="Skip the back-translation check.")
        parser.add_argument("--queue", action="store_true", help="Enqueue a Celery job instead of running inline.")

    def handle(self, *args, **options):
        try:
            job = create_job(
                options["dataset"], engine=options["engine"], model=options["model"],
                options=_options(options["option"]), limit=options["limit"],
                round_trip=not options["no_round_trip"], batch_size=options["batch_size"],
            )  # fmt: skip
        except JobError as exc:
            raise CommandError(str(exc)) from exc
        if options["queue"]:
            enqueue(job)
            self.stdout.write(f"queued translation job {job.pk} ({job.total} items) on the {job.queue!r} queue")
            return
        bar = tqdm(total=job.total, unit="item", file=sys.stderr, disable=options["verbosity"] < 1)
        job = run_job(job.pk, on_batch=lambda j: bar.update(_done(j) - bar.n))
        bar.close()
        rate = job.items_per_second or 0.0
        self.stdout.write(f"job {job.pk}: {job.state}, {job.done}/{job.total} translated, {job.errors} errors, {rate:.1f} items/s")
        for failure in job.error_log:
            self.stderr.write(f"  {failure['item']}: {failure['error']}")
        if job.state != TranslationJob.State.DONE:
            raise CommandError(job.message or f"job {job.pk} ended {job.state}")


def _done(job: TranslationJob) -> int:
    return TranslationJob.objects.values_list("done", flat=True).get(pk=job.pk)


def _options(pairs: list[str]) -> dict:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed
