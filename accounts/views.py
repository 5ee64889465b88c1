"""The lockout page and the API token page."""

from __future__ import annotations

from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token


def locked_out(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the site's own 429 page, saying when this username + address may try again.

    The lock lasts AXES_COOLOFF_TIME from the last counted failure (failures made
    while locked out are not counted, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT).
    """
    cool_off = get_cool_off(request) or timedelta(0)
    last = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), ip_address=request.axes_ip_address
    ).aggregate(last=Max("attempt_time"))["last"]
    until = (last or timezone.now()) + cool_off
    minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))  # rounded up
    context = {"until": until, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


@require_GET
@login_required
@never_cache
def api_token(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/token.html", {"token": token, "new_key": None})


@require_POST
@login_required
@never_cache
def create_api_token(request: HttpRequest) -> HttpResponse:
    """A new key (replacing any earlier one), shown on this response only: it is never displayed again."""
    with transaction.atomic():
        Token.objects.filter(user=request.user).delete()
        token = Token.objects.create(user=request.user)
    return render(request, "accounts/token.html", {"token": token, "new_key": token.key})


@require_POST
@login_required
def revoke_api_token(request: HttpRequest) -> HttpResponse:
    deleted, _ = Token.objects.filter(user=request.user).delete()
    messages.success(request, "API token revoked." if deleted else "You had no API token.")
    return redirect("accounts:token")
