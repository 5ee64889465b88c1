"""Who may see which campaign (roles and `require_role` live in accounts/).

- annotators: their own queue and their own past grades, in campaigns they belong to;
- reviewers: read every campaign, its statistics and grades; adjudicate;
- admins: all of that, and create campaigns.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from accounts.access import READERS, require_role
from accounts.roles import ANNOTATOR, role_of

from .models import Campaign, Membership


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
