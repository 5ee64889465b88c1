"""The one unit of result pages (/results/, evaluation pages, the study page): percent, one decimal."""

from __future__ import annotations

from django import template

from evaluation.results import percent as _percent

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.5234 -> "52.3"; None or "" -> "—"."""
    return _percent(value) if value not in (None, "") else "—"


@register.filter
def cell_of(cells: dict, key: str):
    """row.cells|cell_of:"pope/random:en" (template lookups cannot take a key with a slash)."""
    return cells.get(key)
