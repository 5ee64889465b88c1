"""What a login attempt is counted against: the normalised username and the client's address.

django-axes calls both functions (AXES_USERNAME_CALLABLE, AXES_CLIENT_IP_CALLABLE in
config/settings.py); the authentication backend (accounts/login_throttle.py) looks the
user up by the same normalised name, so ' rev1', 'rev1 ' and 'ｒｅｖ１' are one user
for the password check and for the failure count alike.
"""

from __future__ import annotations

import ipaddress
import unicodedata

from django.conf import settings
from django.http import HttpRequest


def normalise_username(raw: str | None) -> str | None:
    """NFKC (full-width letters become ASCII), surrounding spaces stripped, NFKC again.

    The second NFKC is Django's own (AbstractBaseUser.normalize_username), kept so the
    result is what `User.objects.create_user` would have stored.
    """
    if raw is None:
        return None
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(raw)).strip())


def username_for_axes(request: HttpRequest, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the credentials' username, else the POSTed one, normalised."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = getattr(request, "POST", {}).get("username")
    return normalise_username(raw)


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or the address TRUSTED_PROXY_COUNT proxies saw.

    Each trusted proxy appends the address it received the request from to
    X-Forwarded-For, so with N trusted proxies the client is the N-th entry from the
    right; anything further left was written by the client and is never believed.
    With 0 (the default) the header is ignored: behind an undeclared proxy every user
    shares the proxy's address, but a client can never pick its own counter.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(hops) < count:
        return remote  # fewer hops than declared proxies: not from behind them
    try:
        # GenericIPAddressField (inet on PostgreSQL) would refuse to store anything else.
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote
