from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Datasets and their items, the importers that fill them, and the world commands.

    Named `catalog`, not `datasets`: a top-level `datasets` package would shadow Hugging
    Face's, which lmms-eval and other training tools import."""

    name = "catalog"
    verbose_name = "Datasets"
