"""Relecture's three roles, as Django groups created by a data migration.

- annotator: grades translations in their own queue;
- reviewer: reads everything, adjudicates disagreements;
- admin: imports, launches jobs and campaigns (and is staff, for Django's admin).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction

ANNOTATOR, REVIEWER, ADMIN = "annotator", "reviewer", "admin"
ROLES = (ANNOTATOR, REVIEWER, ADMIN)


def role_of(user: User) -> str | None:
    """The highest role a user holds (superusers are admins)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    return role_from(False, user.groups.values_list("name", flat=True))


def role_from(is_superuser: bool, group_names: Iterable[str]) -> str | None:
    """The same rule from plain values (audit/api_grade_next.py reads them with the token, in one query)."""
    if is_superuser:
        return ADMIN
    names = set(group_names)
    return next((role for role in reversed(ROLES) if role in names), None)


@transaction.atomic
def create_user(username: str, *, role: str, password: str, email: str = "") -> tuple[User, bool]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    # Admins manage everything, Django's admin included; the others never see it.
    user.is_staff = user.is_superuser = role == ADMIN
    user.save()
    user.groups.set([Group.objects.get_or_create(name=role)[0]])  # survives a flushed database
    return user, created
