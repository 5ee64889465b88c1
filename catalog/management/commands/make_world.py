"""python manage.py make_world --out DIR --seed N --size {small,full}"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from world.generator import generate_world


class Command(BaseCommand):
    help = "Generate the synthetic miniature world: images and English data in the real formats."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--size", choices=["small", "full"], default="small")
        parser.add_argument("--yes-share", type=float, default=0.5, help="Share of 'yes' answers in yes/no QA.")

    def handle(self, *args, out, seed, size, yes_share, **options):
        try:
            manifest = generate_world(out, seed=seed, size=size, yes_share=yes_share)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"world written to {out}: {manifest.get('counts', manifest)}")
