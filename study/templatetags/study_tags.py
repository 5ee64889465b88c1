from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.5234 -> "52.3"; None -> "—"."""
    return "—" if value is None else f"{100 * float(value):.1f}"
