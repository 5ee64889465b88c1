"""Placeholder until the results pages land."""

urlpatterns: list = []
