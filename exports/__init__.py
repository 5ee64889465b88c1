"""Filtered exports: rules (pure), formats (pure), balance report (pure), build (Django)."""
