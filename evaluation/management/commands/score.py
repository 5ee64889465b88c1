"""python manage.py score --benchmark B --references FILE --predictions FILE [--parser P]

Scores predictions made elsewhere (as lmms-eval users do with saved outputs) and prints
the metrics as one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation.metrics import BENCHMARKS, PARSERS, BenchmarkFormatError, score_files


class Command(BaseCommand):
    help = "Score a JSONL of {question_id, prediction} against a ScienceQA, TextVQA or POPE file."

    def add_arguments(self, parser):
        parser.add_argument("--benchmark", required=True, choices=BENCHMARKS)
        parser.add_argument("--references", required=True, type=Path, help="The benchmark file, in its own format.")
        parser.add_argument("--predictions", required=True, type=Path, help='JSONL: {"question_id", "prediction"}.')
        parser.add_argument("--parser", default="reference", choices=PARSERS)
        parser.add_argument("--language", help="Expected answer language (en/fr), for the wrong-language flag.")

    def handle(self, *args, benchmark, references, predictions, parser, language, **options):
        for path in (references, predictions):
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
        try:
            result = score_files(benchmark, references, predictions, parser, expected_language=language)
        except BenchmarkFormatError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, ensure_ascii=False))
