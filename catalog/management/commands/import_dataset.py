"""python manage.py import_dataset PATH --format FMT --name NAME [--images DIR] [--kind KIND]"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.importers import IMPORTERS, ImportFormatError
from catalog.services import import_dataset


class Command(BaseCommand):
    help = "Import a dataset file (LLaVA, Monkey, ScienceQA, TextVQA or POPE). Re-importing is idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file (or, for POPE, a directory of split files).")
        parser.add_argument("--format", required=True, help=f"One of: {', '.join(sorted(IMPORTERS))}.")
        parser.add_argument("--name", required=True, help="Dataset name (created if new).")
        parser.add_argument("--images", help="Image directory; every image path is checked against it.")
        parser.add_argument("--kind", choices=["train", "benchmark"], help="Default: from the format.")
        parser.add_argument("--split", default="", help="Benchmark split, when the file name does not say.")

    def handle(self, *args, **options):
        def progress(records, total):
            return tqdm(records, total=total, unit="item", file=sys.stderr, disable=options["verbosity"] < 1)

        try:
            result = import_dataset(
                options["path"],
                format=options["format"],
                name=options["name"],
                images=options["images"],
                kind=options["kind"],
                split=options["split"],
                progress=progress,
            )
        except ImportFormatError as exc:
            raise CommandError(f"{exc}\nNothing was imported.") from exc
        rate = result.total / result.seconds if result.seconds else 0.0
        self.stdout.write(
            f"{result.dataset.name}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged in {result.seconds:.1f} s ({rate:,.0f} items/s)"
        )
