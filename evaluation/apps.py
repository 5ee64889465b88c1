from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    """Evaluation runs on the benchmarks, their metrics and parsers, and the results pages."""

    name = "evaluation"
    verbose_name = "Evaluation"
