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
from django.core.management.base import BaseCommand

from audit.roles import ROLES, create_user
from audit.world_datasets import import_world
from world.generator import generate_world


class Command(BaseCommand):
    help = "Migrate, generate and import the small world, create demo users (one per role)."

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
        for role, password in self._demo_passwords().items():
            # Hashing a password costs ~0.5 s; existing demo users keep theirs.
            if not User.objects.filter(username=role).exists():
                create_user(role, role=role, password=password)
            self.stdout.write(f"  {role:<10} password {password}")

    def _demo_passwords(self) -> dict[str, str]:
        path = settings.VAR_DIR / "demo-users.json"
        passwords = json.loads(path.read_text()) if path.exists() else {}
        for role in ROLES:
            passwords.setdefault(role, secrets.token_urlsafe(8))
        path.write_text(json.dumps(passwords, indent=2))
        path.chmod(0o600)
        return passwords
