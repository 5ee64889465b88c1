"""The three benchmarks, each in its own published format.

- ScienceQA-IMG as lmms-eval's `scienceqa_img` reads it: a JSON list of records with
  question, choices, answer (index), hint and image (LLaVA's problems.json, a dict
  keyed by id, is accepted too).
- TextVQA 0.5.1: `{"data": [{"question_id", "question", "image_id", "answers": [10]}]}`;
  the image of `image_id` X is X.jpg (or .png/.jpeg, whichever exists under --images).
- POPE: JSON Lines `{"question_id", "image", "text", "label"}`, one file per negative
  sampling split (`coco_pope_{random,popular,adversarial}.json`); a directory holding
  them imports all three. Question ids restart in each file, so the split is part of
  the external id.

Each becomes an Item whose conversation asks the question and gives the reference
answer, with what scoring needs in `meta`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import (
    IMAGE_PATH_CHARS,
    SPLIT_CHARS,
    Checker,
    Context,
    ImportFormatError,
    ItemRecord,
    Records,
    json_type,
    read_json,
    read_json_lines,
)

SCIENCEQA_TEXT_FIELDS = ("subject", "topic", "category", "grade", "skill", "task", "lecture", "solution", "split")


def parse_scienceqa(path: Path, context: Context) -> Records:
    data = read_json(path)
    if isinstance(data, dict):  # LLaVA's problems.json: {"id": record}
        records = [{"id": key, **value} if isinstance(value, dict) else value for key, value in data.items()]
    elif isinstance(data, list):
        records = data
    else:
        raise ImportFormatError(path, f"expected a JSON list (or an object keyed by id), got {json_type(data)}")
    return Records(len(records), (_scienceqa(path, i, r, context) for i, r in enumerate(records)))


def _scienceqa(path: Path, index: int, record: Any, context: Context) -> ItemRecord:
    check = Checker(path, index)
    external_id = check.identifier(record, "id", context.limits)
    check.scan(record, context.limits)
    question = check.get(record, "question", str)
    choices = check.get(record, "choices", list)
    if len(choices) < 2:
        raise check.fail("choices", f"expected at least 2 choices, got {len(choices)}")
    for position, choice in enumerate(choices):
        if not isinstance(choice, str):
            raise check.fail(f"choices[{position}]", f"expected a string, got {json_type(choice)}")
    answer = check.get(record, "answer", int)
    if not 0 <= answer < len(choices):
        raise check.fail("answer", f"index {answer} is outside the {len(choices)} choices")
    hint = check.get(record, "hint", str, required=False) or ""
    image = check.get(record, "image", str, required=False)
    image = check.image(image, "image", context) if image else ""
    meta: dict[str, Any] = {"choices": choices, "answer": answer, "hint": hint}
    for key in SCIENCEQA_TEXT_FIELDS:
        value = record.get(key)
        if value is not None:
            meta[key] = value
    prompt = ("<image>\n" if image else "") + question
    turns = [{"from": "human", "value": prompt}, {"from": "gpt", "value": choices[answer]}]
    split = check.short(str(meta.get("split", "")), "split", SPLIT_CHARS)
    return ItemRecord(external_id, image, turns, "scienceqa", split, meta)


def parse_textvqa(path: Path, context: Context) -> Records:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ImportFormatError(path, "expected an object with a 'data' list (TextVQA 0.5.1)", field="data")
    records = data["data"]
    return Records(len(records), (_textvqa(path, i, r, context) for i, r in enumerate(records)))


def _textvqa(path: Path, index: int, record: Any, context: Context) -> ItemRecord:
    check = Checker(path, index)
    external_id = check.identifier(record, "question_id", context.limits)
    check.scan(record, context.limits)
    question = check.get(record, "question", str)
    image_id = check.identifier(record, "image_id", context.limits)
    check.record_id = external_id
    answers = check.get(record, "answers", list)
    if len(answers) != 10:
        raise check.fail("answers", f"expected 10 reference answers, got {len(answers)}")
    for position, answer in enumerate(answers):
        if not isinstance(answer, str):
            raise check.fail(f"answers[{position}]", f"expected a string, got {json_type(answer)}")
    image = _textvqa_image(check, image_id, context)
    majority = Counter(answers).most_common(1)[0][0]
    meta = {"answers": answers, "image_id": image_id, "set_name": record.get("set_name", "")}
    if isinstance(record.get("image_classes"), list):
        meta["image_classes"] = record["image_classes"]
    turns = [{"from": "human", "value": "<image>\n" + question}, {"from": "gpt", "value": majority}]
    split = check.short(str(meta["set_name"]), "set_name", SPLIT_CHARS)
    return ItemRecord(external_id, image, turns, "textvqa", split, meta)


def _textvqa_image(check: Checker, image_id: str, context: Context) -> str:
    if context.images is None:
        return check.short(image_id + ".jpg", "image_id", IMAGE_PATH_CHARS)
    for extension in (".jpg", ".png", ".jpeg"):
        name = image_id + extension
        problem = context.images.problem(name)
        if problem is None:
            return check.short(name, "image_id", IMAGE_PATH_CHARS)
        if "resolves outside" in problem:
            raise check.fail("image_id", problem)
    raise check.fail("image_id", f"no image {image_id}.jpg (or .png/.jpeg) under {context.images.root}")


POPE_SPLIT = re.compile(r"pope_(random|popular|adversarial)")


def parse_pope(path: Path, context: Context) -> Records:
    files = sorted(path.glob("*pope_*.json*")) if path.is_dir() else [path]
    if not files:
        raise ImportFormatError(path, "no POPE files (coco_pope_{random,popular,adversarial}.json) in this directory")
    loaded = []
    for file in files:
        split = context.split or _pope_split(file)
        if len(split) > SPLIT_CHARS:
            raise ImportFormatError("--split", f"{len(split)} characters; at most {SPLIT_CHARS}")
        loaded.append((file, split, read_json_lines(file, context.limits.record_bytes)))
    total = sum(len(lines) for _f, _s, lines in loaded)
    return Records(total, _pope_records(loaded, context))


def _pope_split(file: Path) -> str:
    found = POPE_SPLIT.search(file.name)
    if not found:
        raise ImportFormatError(file, "cannot tell the POPE split from the file name; pass --split")
    return found.group(1)


def _pope_records(loaded: list[tuple[Path, str, list[tuple[int, Any]]]], context: Context) -> Iterator[ItemRecord]:
    for file, split, lines in loaded:
        for index, (line, record) in enumerate(lines):
            check = Checker(file, index, line=line)
            question_id = check.identifier(record, "question_id", context.limits)
            check.scan(record, context.limits)
            check.id_length(f"{split}-{question_id}", "question_id", context.limits)
            image = check.image(check.get(record, "image", str), "image", context)
            text = check.get(record, "text", str)
            label = check.get(record, "label", str).strip().lower()
            if label not in ("yes", "no"):
                raise check.fail("label", f"expected 'yes' or 'no', got {record['label']!r}")
            turns = [{"from": "human", "value": "<image>\n" + text}, {"from": "gpt", "value": label.capitalize()}]
            meta = {"label": label, "question_id": record["question_id"]}
            yield ItemRecord(f"{split}-{question_id}", image, turns, "pope", split, meta)
