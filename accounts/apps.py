from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Logging in (throttled by django-axes, accounts/login_throttle.py) and API tokens."""

    name = "accounts"
