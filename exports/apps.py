from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Filter rules, snapshots, export formats and balance, and REST API v1 for data."""

    name = "exports"
    verbose_name = "Exports"
