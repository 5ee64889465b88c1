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

ENGINES: dict[str, str] = {
    "apertium": "translation.engines.apertium:ApertiumEngine",
    "openai": "translation.engines.openai:OpenAIEngine",
    "vllm": "translation.engines.vllm:VLLMEngine",
    "hf": "translation.engines.hf:HFEngine",
}


class UnknownEngine(ValueError):
    """No engine has that name."""


def get_engine(name: str, **options: Any) -> Engine:
    """Build the engine called `name` with its options (model, base_url, ...)."""
    try:
        target = ENGINES[name]
    except KeyError:
        raise UnknownEngine(
            f"unknown translation engine {name!r}; known engines: {', '.join(sorted(ENGINES))}"
        ) from None
    module_name, class_name = target.split(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    engine: Engine = engine_class(**options)
    return engine


__all__ = [
    "ENGINES",
    "BatchResult",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "SegmentTooLong",
    "UnknownEngine",
    "Usage",
    "get_engine",
]
