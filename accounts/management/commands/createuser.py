"""python manage.py createuser NAME --role {annotator,reviewer,admin} [--password P]"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ROLES, create_user


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
        # The same checks as every password form (AUTH_PASSWORD_VALIDATORS), against the
        # user as they will be saved, so a password too close to the username is refused too.
        candidate = User.objects.filter(username=username).first() or User(username=username, email=email)
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            raise CommandError(f"password refused for {username!r}: {' '.join(error.messages)}") from None
        user, created = create_user(username, role=role, password=password, email=email)
        verb = "created" if created else "updated"
        self.stdout.write(f"{verb} {role} {user.username!r} with password {password!r}")
