"""The one importer registry: format name -> parser, and each format's default dataset kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import benchmarks, llava, monkey
from .base import Context, ImageIndex, ImportFormatError, ItemRecord, Limits, Records

Parser = Callable[[Path, Context], Records]

IMPORTERS: dict[str, tuple[Parser, str]] = {
    "llava": (llava.parse, "train"),
    "monkey": (monkey.parse, "train"),
    "scienceqa": (benchmarks.parse_scienceqa, "benchmark"),
    "textvqa": (benchmarks.parse_textvqa, "benchmark"),
    "pope": (benchmarks.parse_pope, "benchmark"),
}


def get_importer(name: str) -> tuple[Parser, str]:
    """The parser and default kind of a format; an unknown name lists the known ones."""
    try:
        return IMPORTERS[name]
    except KeyError:
        known = ", ".join(sorted(IMPORTERS))
        raise ImportFormatError("--format", f"unknown format {name!r}; known formats: {known}") from None


__all__ = ["IMPORTERS", "Context", "ImageIndex", "ImportFormatError", "ItemRecord", "Limits", "Records", "get_importer"]
