"""python manage.py setup_demo: everything `make demo` needs before the server starts.

Idempotent and fast on a second run: migrations are no-ops, the world is generated only
if missing, imports compare hashes, and demo users keep the passwords stored in var/.
"""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from audit.campaigns import CampaignSpec, create_campaign
from audit.models import Campaign
from accounts.roles import ADMIN, ANNOTATOR, REVIEWER, create_user
from catalog.world_datasets import import_world
from translation.services import create_job, run_job
from world.generator import generate_world

# Two annotators, so the demo campaign can have the default overlap of k = 2.
DEMO_USERS = {"annotator": ANNOTATOR, "annotator2": ANNOTATOR, "reviewer": REVIEWER, "admin": ADMIN}
DEMO_CAMPAIGN = "demo-instruct"
DEMO_TRANSLATIONS = 160


class Command(BaseCommand):
    help = "Migrate, generate and import the small world, create demo users, translate and open a demo campaign."

    def handle(self, *args, **options):
        call_command("migrate", verbosity=0)
        world = settings.DATA_ROOT / "world-small"
        if not (world / "manifest.json").exists():
            self.stdout.write(f"generating the small world in {world} ...")
            generate_world(world, seed=0, size="small")
        for result in import_world(world):
            self.stdout.write(
                f"  {result.dataset.name}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
            )
        self.stdout.write("Demo users (stored in var/demo-users.json):")
        for username, password in self._demo_passwords().items():
            # Hashing a password costs ~0.5 s; existing demo users keep theirs.
            if not User.objects.filter(username=username).exists():
                create_user(username, role=DEMO_USERS[username], password=password)
            self.stdout.write(f"  {username:<11} ({DEMO_USERS[username]:<9}) password {password}")
        self._demo_campaign()

    def _demo_campaign(self) -> None:
        """Translate part of the instruction set with apertium and open a campaign to grade (first run only)."""
        if Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
            return
        self.stdout.write(f"translating {DEMO_TRANSLATIONS} world-instruct items with apertium for the demo campaign ...")
        job = create_job("world-instruct", engine="apertium", limit=DEMO_TRANSLATIONS)
        job = run_job(job.pk)
        if job.state != job.State.DONE:
            raise CommandError(f"the demo translation failed: {job.message}")
        annotators = list(User.objects.filter(username__in=["annotator", "annotator2"]))
        spec = CampaignSpec(
            name=DEMO_CAMPAIGN, dataset=job.dataset, annotators=annotators, overlap=2,
            sampling=Campaign.Sampling.STRATIFIED, sample_size=DEMO_TRANSLATIONS // 2,
        )  # fmt: skip
        create_campaign(spec, acting_user=User.objects.get(username="admin"))
        self.stdout.write(f"campaign {DEMO_CAMPAIGN!r} is ready to grade (log in as annotator or annotator2)")

    def _demo_passwords(self) -> dict[str, str]:
        path = settings.VAR_DIR / "demo-users.json"
        passwords = json.loads(path.read_text()) if path.exists() else {}
        for username in DEMO_USERS:
            passwords.setdefault(username, secrets.token_urlsafe(8))
        path.write_text(json.dumps(passwords, indent=2))
        path.chmod(0o600)
        return passwords
