"""What a job request may set on an engine, declared per engine class and checked on creation.

A request (the API, the start form) can only tune an engine: sampling limits,
concurrency, timeouts. What the engine runs or talks to (apertium's binary and data
directory, the OpenAI server's URL, vLLM's loader arguments) comes from settings or
from trusted code calling the constructor, never from a request: each engine lists
its `request_options`, and `check_options` refuses any other key before a job is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any


class EngineOptionError(ValueError):
    """An engine option a request may not set, or a value out of its bounds; names the option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Option:
    """One option a request may set: its type and bounds, or its allowed values.

    `allowed_by` names the setting that lists the allowed values when they are a
    deployment's choice (OpenAI server URLs); the caller passes that list in.
    Options naming the same `share` are parts of one whole (the injected error rates,
    translation/injection.py): together they may not pass 1.
    """

    name: str
    kind: type
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    allowed_by: str = ""
    share: str = ""
    help: str = ""

    def describe(self) -> str:
        if self.choices:
            return f"{self.name} (one of {', '.join(self.choices)})"
        if self.allowed_by:
            return f"{self.name} (one of {self.allowed_by})"
        bounds = f"{_number(self.minimum)}..{_number(self.maximum)}" if self.minimum is not None else ""
        return f"{self.name} ({_KIND_NAMES[self.kind]}{' ' + bounds if bounds else ''})"


_KIND_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def check_options(
    engine: str,
    declared: tuple[Option, ...],
    options: Mapping[str, Any],
    *,
    allowed: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """The options, checked against `declared`; `allowed` gives each `allowed_by` option its values.

    Raises EngineOptionError naming the first bad key: unknown keys list the ones this
    engine accepts, so the person who typed `executable` learns what they may set.
    """
    by_name = {option.name: option for option in declared}
    checked: dict[str, Any] = {}
    for key, value in options.items():
        option = by_name.get(key)
        if option is None:
            accepted = ", ".join(o.describe() for o in declared) or "none"
            raise EngineOptionError(
                str(key), f"option {key!r} is not accepted by the {engine} engine; accepted options: {accepted}"
            )
        checked[key] = _checked_value(engine, option, value, (allowed or {}).get(key, ()))
    for share in sorted({option.share for option in declared if option.share}):
        parts = [option.name for option in declared if option.share == share and option.name in checked]
        if sum(checked[name] for name in parts) > 1:
            raise EngineOptionError(
                parts[-1], f"{engine} options {', '.join(parts)} add up to more than 1 (they share one whole)"
            )
    return checked


def _checked_value(engine: str, option: Option, value: Any, allowed: Collection[str]) -> Any:
    where = f"{engine} option {option.name!r}"
    kind = option.kind
    # bool is an int in Python: never a valid count or limit.
    if isinstance(value, bool) and kind is not bool:
        raise EngineOptionError(option.name, f"{where}: expected {_KIND_NAMES[kind]}, got a boolean")
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise EngineOptionError(option.name, f"{where}: expected {_KIND_NAMES[kind]}, got {type(value).__name__}")
    if kind in (int, float):
        if option.minimum is not None and value < option.minimum or option.maximum is not None and value > option.maximum:
            raise EngineOptionError(
                option.name, f"{where}: {value!r} is outside {_number(option.minimum)}..{_number(option.maximum)}"
            )
    if option.choices and value not in option.choices:
        raise EngineOptionError(option.name, f"{where}: {value!r} is not one of {', '.join(option.choices)}")
    if option.allowed_by and value not in allowed:
        listed = ", ".join(allowed) or "nothing"
        raise EngineOptionError(option.name, f"{where}: {value!r} is not in {option.allowed_by} ({listed})")
    return value
