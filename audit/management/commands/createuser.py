"""python manage.py createuser NAME --role {annotator,reviewer,admin} [--password P]"""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand, CommandError

from audit.roles import ROLES, create_user


class Command(BaseCommand):
    help = "Create (or update) a user in one of Relecture's roles; prints the password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", help="Default: a generated one, printed.")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, password, email, **options):
        password = password or secrets.token_urlsafe(9)
        if not username.strip():
            raise CommandError("username must not be empty")
        user, created = create_user(username, role=role, password=password, email=email)
        verb = "created" if created else "updated"
        self.stdout.write(f"{verb} {role} {user.username!r} with password {password!r}")
