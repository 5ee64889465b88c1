"""Who may see and do what in the audit. Every page and API endpoint asks here.

- annotators: their own queue and their own past grades, in campaigns they belong to;
- reviewers: read every campaign, its statistics and grades; adjudicate;
- admins: all of that, and create campaigns.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from .models import Campaign, Membership
from .roles import ADMIN, ANNOTATOR, REVIEWER, role_of

READERS = (REVIEWER, ADMIN)


def require_role(user: User, *roles: str) -> str:
    return check_role(role_of(user), *roles)


def check_role(role: str | None, *roles: str) -> str:
    """require_role for a role already known (the lean grading endpoint reads it with the token)."""
    if role not in roles:
        raise PermissionDenied(f"this needs the role {' or '.join(roles)}; you are {role or 'without a role'}")
    return role


def campaign_for_annotator(user: User, campaign_id: int) -> Campaign:
    """The campaign, if the user grades in it; 403 otherwise (reviewers and admins do not grade)."""
    require_role(user, ANNOTATOR)
    member = Membership.objects.filter(campaign_id=OuterRef("pk"), annotator=user)
    campaign = get_object_or_404(Campaign.objects.annotate(is_member=Exists(member)), pk=campaign_id)
    if not campaign.is_member:  # asked in the same query as the campaign: this runs on every next item
        raise PermissionDenied(f"you are not an annotator of campaign {campaign.name!r}")
    return campaign


def campaign_for_reader(user: User, campaign_id: int) -> Campaign:
    require_role(user, *READERS)
    return get_object_or_404(Campaign, pk=campaign_id)


def visible_campaigns(user: User):
    role = role_of(user)
    if role in READERS:
        return Campaign.objects.select_related("dataset")
    if role == ANNOTATOR:
        return Campaign.objects.filter(memberships__annotator=user).select_related("dataset")
    return Campaign.objects.none()
