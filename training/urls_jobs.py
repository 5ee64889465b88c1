"""Placeholder until the jobs pages land."""

urlpatterns: list = []
