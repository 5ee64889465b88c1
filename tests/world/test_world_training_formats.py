"""Training files: LLaVA caption and instruction sets, and the same QA in Monkey format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from world_readers import read_json

TASKS = {"colour", "count", "yesno", "mc"}  # world/instruct.py TASK_WEIGHTS: the mix that teaches presence


def test_caption_set_has_one_llava_record_per_training_image(world_dir: Path, scenes: dict[str, Any]) -> None:
    records = read_json(world_dir / "llava/blip_laion_cc_sbu_558k.json")
    train = sorted(name for name, s in scenes.items() if s["split"] == "train")
    assert sorted(r["image"] for r in records) == train
    requests = set()
    for r in records:
        assert set(r) == {"id", "image", "conversations"}
        assert r["image"] == f"{r['id']}.png"
        human, gpt = r["conversations"]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        assert human["value"].startswith("<image>\n")
        requests.add(human["value"])
        assert gpt["value"].endswith(".") and gpt["value"][0].islower()
    assert len(requests) >= 6


def test_caption_names_every_object(world_dir: Path, scenes: dict[str, Any]) -> None:
    for r in read_json(world_dir / "llava/blip_laion_cc_sbu_558k.json"):
        text = r["conversations"][1]["value"]
        for obj in scenes[r["image"]]["objects"]:
            assert f"{obj['size']} {obj['category']}" in text
        if scenes[r["image"]]["text"]:
            assert f'"{scenes[r["image"]]["text"]}"' in text


def test_instruction_records_are_strict_llava(world_dir: Path) -> None:
    records = read_json(world_dir / "llava/llava_instruct.json")
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == {"id", "image", "conversations"}
        task, image_id, _ = r["id"].split("-")
        assert task in TASKS and r["image"] == f"{image_id}.png"
        turns = r["conversations"]
        assert len(turns) % 2 == 0 and (len(turns) > 2) == (task == "multi")
        assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
        assert turns[0]["value"].startswith("<image>\n")
        assert all("<image>" not in t["value"] for t in turns[1:])
    tasks = {r["id"].split("-")[0] for r in records}
    assert tasks == TASKS


def test_instruction_answers_follow_the_documented_conventions(world_dir: Path, scenes: dict[str, Any]) -> None:
    for r in read_json(world_dir / "llava/llava_instruct.json"):
        scene = scenes[r["image"]]
        turns = r["conversations"]
        for question, answer in zip(turns[::2], turns[1::2], strict=True):
            q, a = question["value"].removeprefix("<image>\n"), answer["value"]
            q = q.removesuffix("\nAnswer the question using a single word or phrase.")
            if q.endswith("\nAnswer with the option's letter from the given choices directly."):
                options = [line for line in q.splitlines() if line[:2] in {f"{c}." for c in "ABCDE"}]
                assert 2 <= len(options) <= 5 and a in "ABCDE"[: len(options)]
            elif q.startswith(("Is there", "Does the image", "Can you see")):
                assert a in ("Yes", "No")
            elif q.startswith("How many objects"):
                assert a == str(len(scene["objects"]))
            elif q.startswith("How many"):
                assert a.isdigit()
            elif "colour" in q:
                assert a in {o["colour"] for o in scene["objects"]}
            elif q.startswith(("Where", "In which part")):
                assert a in {o["position"] for o in scene["objects"]}
            else:
                assert a == scene["text"], q


def test_monkey_file_carries_the_same_qa(world_dir: Path) -> None:
    llava = read_json(world_dir / "llava/llava_instruct.json")
    monkey = read_json(world_dir / "monkey/monkey_instruct.json")
    assert [r["id"] for r in monkey] == [r["id"] for r in llava]
    for lr, mr in zip(llava, monkey, strict=True):
        assert set(mr) == {"id", "conversations"}
        assert [t["from"] for t in mr["conversations"]] == ["user", "assistant"] * (len(mr["conversations"]) // 2)
        first = re.match(r"Picture 1: <img>(.+?)</img>\n", mr["conversations"][0]["value"])
        assert first and first.group(1) == lr["image"]
        strip = [t["value"].removeprefix("<image>\n") for t in lr["conversations"]]
        plain = [t["value"].removeprefix(first.group(0)) for t in mr["conversations"]]
        assert plain == strip
