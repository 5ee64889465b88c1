"""The engine registry: one name per backend, imported only when asked for.

Importing this package must stay cheap and work everywhere: the openai engine
needs httpx, hf needs torch, vllm needs a GPU image. So `ENGINES` maps names to
"module:Class" and `get_engine` imports the one module it needs.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import (
    BatchResult,
    Engine,
    EngineError,
    EngineUnavailable,
    SegmentTooLong,
    Usage,
)
from .options import EngineOptionError, Option, check_options

ENGINES: dict[str, str] = {
    "apertium": "translation.engines.apertium:ApertiumEngine",
    "openai": "translation.engines.openai:OpenAIEngine",
    "vllm": "translation.engines.vllm:VLLMEngine",
    "hf": "translation.engines.hf:HFEngine",
}


class UnknownEngine(ValueError):
    """No engine has that name."""


def engine_class(name: str) -> type[Engine]:
    """The class of the engine called `name` (imports its module, not its backend)."""
    try:
        target = ENGINES[name]
    except KeyError:
        raise UnknownEngine(
            f"unknown translation engine {name!r}; known engines: {', '.join(sorted(ENGINES))}"
        ) from None
    module_name, class_name = target.split(":")
    found: type[Engine] = getattr(importlib.import_module(module_name), class_name)
    return found


def get_engine(name: str, **options: Any) -> Engine:
    """Build the engine called `name` with constructor arguments (trusted callers: a request's
    options go through `check_options` against the class's `request_options` first)."""
    engine: Engine = engine_class(name)(**options)
    return engine


__all__ = [
    "ENGINES",
    "BatchResult",
    "Engine",
    "EngineError",
    "EngineOptionError",
    "EngineUnavailable",
    "Option",
    "SegmentTooLong",
    "UnknownEngine",
    "Usage",
    "check_options",
    "engine_class",
    "get_engine",
]
