"""Who may do what, by role: every page and API endpoint asks here (campaign-level access,
which campaigns an annotator belongs to, lives in audit/access.py).

- annotators: their own queue and their own past grades, in campaigns they belong to;
- reviewers: read every campaign, its statistics and grades, results and exports; adjudicate;
- admins: all of that, and create campaigns, rules, snapshots and jobs.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from .roles import ADMIN, REVIEWER, role_of

READERS = (REVIEWER, ADMIN)


def require_role(user: User, *roles: str) -> str:
    return check_role(role_of(user), *roles)


def check_role(role: str | None, *roles: str) -> str:
    """require_role for a role already known (the lean grading endpoint reads it with the token)."""
    if role not in roles:
        raise PermissionDenied(f"this needs the role {' or '.join(roles)}; you are {role or 'without a role'}")
    return role
