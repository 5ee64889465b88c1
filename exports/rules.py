"""Filter rules as data: which translations an export keeps, and why (pure Python).

A rule is a small JSON object. `parse_rule` validates it (an unknown field or value is
a `RuleError` naming it) and returns a frozen `RuleSpec`; `decide` is the whole
selection logic for one translation, so the build, the preflight check and the tests
all share it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from api.errors import FieldError

GRADES = ("high", "moderate", "low")
# The bar a grade must reach: "moderate" keeps high and moderate, as the study's 40%;
# "low" keeps everything (control items still never pass).
ALLOWED = {
    "high": frozenset({"high"}),
    "moderate": frozenset({"high", "moderate"}),
    "low": frozenset(GRADES),  # every translation: the study's "all translations" rule
}
UNAUDITED = ("exclude", "automatic")
TASK_TYPES = (
    "caption", "colour", "count", "position", "yes_no", "reading", "multiple_choice", "conversation",
    "scienceqa", "textvqa", "pope",
)  # fmt: skip
# Where a kept translation's grade comes from (the counts "per source" in a snapshot).
SOURCES = ("consensus", "adjudication", "automatic")


class RuleError(FieldError, ValueError):
    """A rule field or value is not understood; `name` names it, `field` as the API does (`spec.<name>`).

    str() is "name: message", as the rule form, the export command and a failed build show it.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message, f"spec.{name}")
        self.name = name

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass(frozen=True)
class RuleSpec:
    min_grade: str = "high"
    require_agreement: bool = False  # only grades the k annotators agreed on (no adjudicated ones)
    use_post_edit: bool = True  # the post-edit chosen as final text (FinalGrade.final_turns)
    post_edit_from_assessments: bool = False  # else the earliest annotator post-edit of that entry
    unaudited: str = "exclude"  # or "automatic": keep when the suggested grade reaches the bar
    datasets: tuple[str, ...] = ()  # dataset names; empty: every dataset
    splits: tuple[str, ...] = ()
    task_types: tuple[str, ...] = ()
    engine: str = ""
    model: str = ""
    prompt_version: str = ""
    target_language: str = "fr"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        for key in ("datasets", "splits", "task_types"):
            data[key] = list(data[key])
        return data

    @property
    def digest(self) -> str:
        """sha256 of the canonical rule: equal rules have equal digests, whatever their key order."""
        return hashlib.sha256(orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()


FIELDS = {name for name in RuleSpec.__dataclass_fields__ if name != "extra"}


def parse_rule(data: Any) -> RuleSpec:
    """Validate a rule object; raises RuleError naming the first bad field or value."""
    if not isinstance(data, dict):
        raise RuleError("rule", f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise RuleError(unknown[0], f"unknown filter field {unknown[0]!r}; known fields: {', '.join(sorted(FIELDS))}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        values[key] = _check(key, value)
    return RuleSpec(**values)


def _check(key: str, value: Any) -> Any:
    default = RuleSpec.__dataclass_fields__[key].default
    if key == "min_grade":
        return _choice(key, value, tuple(ALLOWED))
    if key == "unaudited":
        return _choice(key, value, UNAUDITED)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise RuleError(key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RuleError(key, f"expected a list of non-empty strings, got {value!r}")
        for v in value:
            _no_control(key, v)
        if key == "task_types":
            for v in value:
                _choice(key, v, TASK_TYPES)
        return tuple(sorted(set(value)))
    if not isinstance(value, str) or len(value) > 200:
        raise RuleError(key, f"expected a string (at most 200 characters), got {value!r}")
    return _no_control(key, value)


def _no_control(key: str, value: str) -> str:
    """PostgreSQL cannot store NUL in text, and no dataset, engine or model name holds a control character."""
    if any(ord(c) < 32 for c in value):
        raise RuleError(key, f"{value!r} holds a control character")
    return value


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise RuleError(key, f"unknown value {value!r}; expected one of: {', '.join(allowed)}")
    return str(value)


def decide(rule: RuleSpec, final_grade: str | None, final_source: str | None, suggested: str) -> str | None:
    """The source a translation is kept under (consensus / adjudication / automatic), or None.

    `final_grade`/`final_source` come from a non-control entry's FinalGrade: control
    items never reach this function with a grade of their own.
    """
    allowed = ALLOWED[rule.min_grade]
    if final_grade is not None:
        if rule.require_agreement and final_source != "consensus":
            return None
        return final_source if final_grade in allowed else None
    if rule.unaudited == "automatic" and suggested in allowed:
        return "automatic"
    return None


def effective_grade(final_grade: str | None, suggested: str) -> str:
    return final_grade if final_grade is not None else suggested


def describe_rule(rule: RuleSpec) -> str:
    """The rule as English sentences for the export pages, e.g. "Keep translations whose final grade is high; ...".

    Says every choice the rule makes, defaults included, so a reader never needs the JSON.
    """
    kept = [g for g in GRADES if g in ALLOWED[rule.min_grade]]
    dropped = [g for g in GRADES if g not in kept]
    if dropped:
        grade = f"Keep translations whose final grade is {_either(kept)}; drop {_both(dropped)}."
    else:
        grade = "Keep every audited translation, whatever its final grade (high, moderate or low)."
    source = (
        "Only grades the annotators agreed on count: translations settled by adjudication are dropped."
        if rule.require_agreement
        else "Final grades from the annotators' consensus and from adjudication both count."
    )
    if rule.unaudited == "automatic":
        unaudited = f"Translations without a final grade are kept when the automatic checks suggest {_either(kept)}."
    else:
        unaudited = "Translations without a final grade are dropped."
    if rule.use_post_edit:
        fallback = ", else the earliest annotator's post-edit" if rule.post_edit_from_assessments else ""
        text = f"Text: the post-edit a reviewer chose as final{fallback}, else the machine translation."
    else:
        text = "Text: the machine translation as it is (post-edits ignored)."
    scope = [f"{rule.target_language} translations"]
    scope.append(f"from dataset{'s' if len(rule.datasets) > 1 else ''} {', '.join(rule.datasets)}"
                 if rule.datasets else "from every dataset")  # fmt: skip
    if rule.task_types:
        scope.append(f"of task type{'s' if len(rule.task_types) > 1 else ''} {', '.join(rule.task_types)}")
    if rule.splits:
        scope.append(f"in split{'s' if len(rule.splits) > 1 else ''} {', '.join(rule.splits)}")
    for label, value in (("engine", rule.engine), ("model", rule.model), ("prompt version", rule.prompt_version)):
        if value:
            scope.append(f"{label} {value}")
    return " ".join([grade, source, unaudited, text, f"Scope: {', '.join(scope)}. Control items are never exported."])


def _either(grades: list[str]) -> str:
    return " or ".join(grades) if len(grades) <= 2 else f"{', '.join(grades[:-1])} or {grades[-1]}"


def _both(grades: list[str]) -> str:
    return " and ".join(grades)
