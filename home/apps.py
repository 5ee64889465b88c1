from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The role-aware home page: the one page that reads every app (the top layer)."""

    name = "home"
    verbose_name = "Home"
