"""Train Monkey (Qwen-VL style) JSON: `user`/`assistant` turns with `<img>path</img>` tags.

Converted on the way in to LLaVA turns: the tag (and its "Picture 1: " label) becomes
LLaVA's `<image>` token at the start of the first human turn, and the path becomes the
item's image. One image per record, as LLaVA-1.5 trains.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .base import Checker, Context, ImportFormatError, ItemRecord, Records, json_type, read_json
from .llava import check_turns, task_type

IMAGE_TAG = re.compile(r"(?:Picture \d+:\s*)?<img>(.*?)</img>\s*", re.DOTALL)


def parse(path: Path, context: Context) -> Records:
    data = read_json(path)
    if not isinstance(data, list):
        raise ImportFormatError(path, f"expected a JSON list of records, got {json_type(data)}")
    return Records(len(data), (parse_record(path, index, record, context) for index, record in enumerate(data)))


def parse_record(path: Path, index: int, record: Any, context: Context) -> ItemRecord:
    check = Checker(path, index)
    external_id = check.identifier(record, "id", context.limits)
    check.scan(record, context.limits)
    turns = check_turns(check, check.get(record, "conversations", list), ("user", "assistant"))
    images: list[str] = []
    for position, turn in enumerate(turns):
        found = IMAGE_TAG.findall(turn["value"])
        if found and position % 2:
            raise check.fail(f"conversations[{position}].value", "an <img> tag in an assistant turn")
        images.extend(found)
        turn["value"] = IMAGE_TAG.sub("", turn["value"])
    if len(images) > 1:
        raise check.fail("conversations", f"{len(images)} <img> tags; one image per record is supported")
    image = ""
    if images:
        image = check.image(images[0], "conversations[0].value", context)
        turns[0]["value"] = "<image>\n" + turns[0]["value"]
    return ItemRecord(external_id, image, turns, task_type(external_id, turns))
