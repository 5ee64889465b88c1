"""LLaVA conversation JSON: `[{"id", "image", "conversations": [{"from", "value"}, ...]}]`.

The format of blip_laion_cc_sbu_558k and llava_v1_5_mix665k. Task types come from a
world-style id prefix ("count-000123-0"); otherwise a single-turn record whose request
asks no question is a caption and anything else a conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import (
    CONTROL_CHARACTERS,
    IMAGE_PATH_CHARS,
    Checker,
    Context,
    ImportFormatError,
    ItemRecord,
    Records,
    json_type,
    read_json,
)

ROLES = ("human", "gpt")
KNOWN_TASKS = frozenset(
    {"caption", "colour", "count", "position", "yes_no", "reading", "multiple_choice", "conversation"}
)
# The miniature world's short id prefixes (world/instruct.py) for the same task types.
TASK_ALIASES = {"yesno": "yes_no", "read": "reading", "multi": "conversation", "mc": "multiple_choice"}
RECORD_KEYS = frozenset({"id", "image", "conversations"})
# JSON bytes per character at most (a control character's \u00XX escape): a record whose
# characters times this fit under the byte cap needs no serialising to measure.
JSON_BYTES_PER_CHAR = 6


def parse(path: Path, context: Context) -> Records:
    data = read_json(path)
    if not isinstance(data, list):
        raise ImportFormatError(path, f"expected a JSON list of records, got {json_type(data)}")
    return Records(len(data), (parse_record(path, index, record, context) for index, record in enumerate(data)))


def parse_record(path: Path, index: int, record: Any, context: Context) -> ItemRecord:
    return _plainly_valid(record, context) or _checked(path, index, record, context)


def _plainly_valid(record: Any, context: Context) -> ItemRecord | None:
    """The common, clean record, accepted in a few microseconds; None sends it to `_checked`.

    It accepts a strict subset of what `_checked` accepts and builds the same ItemRecord,
    so the slow path only ever runs to normalise an unusual record or to explain an error.
    558k records a file make this the import's hot loop.
    """
    if type(record) is not dict or not record.keys() <= RECORD_KEYS:
        return None
    limits = context.limits
    external_id, turns, image = record.get("id"), record.get("conversations"), record.get("image")
    if type(external_id) is int:
        external_id = str(external_id)
    elif (
        type(external_id) is not str
        or not external_id
        or external_id.strip() != external_id
        or len(external_id) > limits.id_chars
        or CONTROL_CHARACTERS.search(external_id)
    ):
        return None
    if type(turns) is not list or not turns:
        return None
    chars = len(external_id)
    for position, turn in enumerate(turns):
        if (
            type(turn) is not dict
            or len(turn) != 2
            or turn.get("from") != ROLES[position % 2]
            or type(value := turn.get("value")) is not str
            or len(value) > limits.turn_chars
            or CONTROL_CHARACTERS.search(value)
        ):
            return None
        chars += len(value) + 32  # the turn's keys and punctuation
    if image is None:
        image = ""
    elif (
        type(image) is not str
        or not image
        or image[0] in "./ "
        or image[-1] == " "
        or ".." in image
        or len(image) > IMAGE_PATH_CHARS
        or CONTROL_CHARACTERS.search(image)
        or (context.images is not None and image not in context.images)
    ):
        return None
    if (chars + len(image)) * JSON_BYTES_PER_CHAR + 64 > limits.record_bytes:
        return None  # possibly over the cap: `_checked` measures it
    return ItemRecord(external_id, image, turns, task_type(external_id, turns))


def _checked(path: Path, index: int, record: Any, context: Context) -> ItemRecord:
    check = Checker(path, index)
    external_id = check.identifier(record, "id", context.limits)
    check.scan(record, context.limits)
    image = check.get(record, "image", str, required=False)
    if image is not None:
        image = check.image(image, "image", context)
    turns = check_turns(check, check.get(record, "conversations", list), ROLES)
    return ItemRecord(external_id, image or "", turns, task_type(external_id, turns))


def check_turns(check: Checker, turns: list[Any], roles: tuple[str, str]) -> list[dict[str, str]]:
    """Turns must alternate `roles[0]`, `roles[1]`, ... and hold strings (LLaVA's loader assumes it)."""
    if not turns:
        raise check.fail("conversations", "no turns")
    out = []
    for position, turn in enumerate(turns):
        where = f"conversations[{position}]"
        if not isinstance(turn, dict):
            raise check.fail(where, "expected an object with 'from' and 'value'")
        speaker, value = turn.get("from"), turn.get("value")
        expected = roles[position % 2]
        if speaker != expected:
            raise check.fail(f"{where}.from", f"expected {expected!r} (turns alternate {roles[0]}/{roles[1]}), got {speaker!r}")
        if not isinstance(value, str):
            raise check.fail(f"{where}.value", "expected a string")
        out.append({"from": ROLES[position % 2], "value": value})
    return out


def task_type(external_id: str, turns: list[dict[str, str]]) -> str:
    prefix = external_id.split("-", 1)[0]
    prefix = TASK_ALIASES.get(prefix, prefix)
    if prefix in KNOWN_TASKS:
        return prefix
    if len(turns) == 2 and "?" not in turns[0]["value"]:
        return "caption"
    return "conversation"
