"""Login with a limit on failed attempts (per username and per client address).

Failures are rows in the database (audit.LoginFailure), so every gunicorn worker
sees the same count; a successful login clears the username's failures.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect

from .models import LoginFailure

MAX_PER_USERNAME = 5
MAX_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)

_login_view = auth_views.LoginView.as_view(redirect_authenticated_user=True)


@csrf_protect
def login(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _login_view(request)
    username = request.POST.get("username", "")[:150]
    address = request.META.get("REMOTE_ADDR") or None
    since = timezone.now() - WINDOW
    recent = LoginFailure.objects.filter(at__gte=since)
    if (
        recent.filter(username=username).count() >= MAX_PER_USERNAME
        or (address and recent.filter(ip=address).count() >= MAX_PER_ADDRESS)
    ):
        minutes = int(WINDOW.total_seconds() // 60)
        return render(request, "audit/login_limited.html", {"minutes": minutes}, status=429)
    response = _login_view(request)
    if request.user.is_authenticated:
        LoginFailure.objects.filter(username=username).delete()
    else:
        LoginFailure.objects.filter(Q(at__lt=since)).delete()
        LoginFailure.objects.create(username=username, ip=address)
    return response
