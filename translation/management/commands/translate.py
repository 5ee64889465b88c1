"""python manage.py translate --dataset NAME --engine ENGINE [--model M] [--limit N] [--queue]

`--option KEY=VALUE` sets an engine option. The options a job request may set
(translation/engines/options.py) are stored with the job; any other constructor argument
(apertium's `executable`, openai's `base_url`, ...) is this trusted command's to pass
when it runs the job inline, and is refused with `--queue` (a worker takes those from
its settings).
"""

from __future__ import annotations

import inspect
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from translation.engines import ENGINES, UnknownEngine, engine_class
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
        request_options, arguments = _split(options["engine"], _options(options["option"]), inline=not options["queue"])
        if arguments and options["queue"]:
            names = ", ".join(sorted(arguments))
            raise CommandError(
                f"--option {names}: not a job option; a queued job's worker takes it from its settings "
                "(run inline, without --queue, to pass it)"
            )
        try:
            job = create_job(
                options["dataset"], engine=options["engine"], model=options["model"],
                options=request_options, limit=options["limit"],
                round_trip=not options["no_round_trip"], batch_size=options["batch_size"],
            )  # fmt: skip
        except JobError as exc:
            raise CommandError(str(exc)) from exc
        if options["queue"]:
            enqueue(job)
            self.stdout.write(f"queued translation job {job.pk} ({job.total} items) on the {job.queue!r} queue")
            return
        bar = tqdm(total=job.total, unit="item", file=sys.stderr, disable=options["verbosity"] < 1)
        job = run_job(job.pk, on_batch=lambda j: bar.update(_done(j) - bar.n), engine_arguments=arguments)
        bar.close()
        rate = job.items_per_second or 0.0
        self.stdout.write(f"job {job.pk}: {job.state}, {job.done}/{job.total} translated, {job.errors} errors, {rate:.1f} items/s")
        for failure in job.error_log:
            self.stderr.write(f"  {failure['item']}: {failure['error']}")
        if job.state != TranslationJob.State.DONE:
            raise CommandError(job.message or f"job {job.pk} ended {job.state}")


def _done(job: TranslationJob) -> int:
    return TranslationJob.objects.values_list("done", flat=True).get(pk=job.pk)


def _split(engine: str, given: dict, *, inline: bool) -> tuple[dict, dict]:
    """(options a job may store, other constructor arguments); a key the engine has neither of is an error.

    Inline, an option whose values a setting lists (openai's `base_url`) is a constructor
    argument too: whoever runs this command may point it at any server, a request may not."""
    try:
        declared = engine_class(engine)
    except UnknownEngine:
        return given, {}  # create_job names the known engines
    requestable = {option.name for option in declared.request_options if not (inline and option.allowed_by)}
    signature = inspect.signature(declared.__init__).parameters.values()
    parameters = {p.name for p in signature if p.kind is p.POSITIONAL_OR_KEYWORD or p.kind is p.KEYWORD_ONLY}
    parameters -= {"self", "model"}  # --model sets the model
    for key in given:
        if key not in requestable and key not in parameters:
            raise CommandError(
                f"--option {key}: the {engine} engine has no such option; options: {', '.join(sorted(requestable | parameters))}"
            )
    return (
        {k: v for k, v in given.items() if k in requestable},
        {k: v for k, v in given.items() if k not in requestable},
    )


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
