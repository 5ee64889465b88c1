"""python manage.py run_study: the whole study in miniature, as Celery jobs.

    python manage.py run_study [--world full|small] [--preset tiny] [--engine apertium] [--wait]

Generate the world, import, translate, audit, build snapshots for three rules, train the
English base and variants 2-4 on each rule, evaluate everything (translation-only
included). Steps that finished in an earlier run are reused. Needs a running worker on
the default and gpu queues (`make demo` starts one); --wait prints progress until done.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from study.models import Study
from study.pipeline import start_study
from study.plan import BUDGETS, STEP_TITLES, STEPS
from study.tasks import enqueue


class Command(BaseCommand):
    help = "Run the miniature study (translate -> audit -> filter -> train -> evaluate) on Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("--world", choices=sorted(BUDGETS), default="full")
        parser.add_argument("--preset", default="tiny")
        parser.add_argument("--engine", default="apertium")
        parser.add_argument("--name", default="", help="Study name (default: study-<world>).")
        parser.add_argument("--wait", action="store_true", help="Print progress until the study finishes.")
        parser.add_argument("--timeout", type=float, default=3600, help="With --wait: give up after N seconds.")

    def handle(self, *args, **options):
        try:
            study = start_study(
                world_size=options["world"], preset=options["preset"], engine=options["engine"], name=options["name"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if study.state == Study.State.QUEUED:
            enqueue(study)
            self.stdout.write(f"study {study.name} queued; follow it at /study/{study.name}/")
        else:
            self.stdout.write(f"study {study.name} is already {study.state}")
        if options["wait"]:
            self._follow(study, options["timeout"])

    def _follow(self, study: Study, timeout: float) -> None:
        started, last = time.monotonic(), ""
        while time.monotonic() - started < timeout:
            study.refresh_from_db()
            line = f"[{time.monotonic() - started:6.0f} s] {STEP_TITLES.get(study.step, study.step)}: " + str(
                study.steps.get(study.step, {}).get("detail", "")
            )
            if line.split("] ", 1)[1] != last:
                self.stdout.write(line)
                last = line.split("] ", 1)[1]
            if study.state == Study.State.DONE:
                self.stdout.write(self.style.SUCCESS(f"study {study.name} done in {study.elapsed_seconds:.0f} s"))
                for step in STEPS:
                    entry = study.steps.get(step, {})
                    self.stdout.write(f"  {step:<13} {entry.get('seconds', 0):7.1f} s  {entry.get('detail', '')}")
                return
            if study.state == Study.State.FAILED:
                raise CommandError(f"study {study.name} failed at {study.step}: {study.message}")
            time.sleep(2)
        raise CommandError(f"study {study.name} still {study.state} after {timeout:.0f} s (is a worker running?)")
