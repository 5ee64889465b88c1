"""Benchmark files: ScienceQA-IMG, TextVQA and POPE in their real layouts, on eval
images only, every answer checkable against the scene."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from world_readers import read_json, read_json_lines

from world.vocabulary import CATEGORY_NAMES

SCIENCEQA_FIELDS = {
    "id", "question", "choices", "answer", "hint", "image", "task", "grade",
    "subject", "topic", "category", "skill", "lecture", "solution",
}  # fmt: skip
POPE_SPLITS = ("random", "popular", "adversarial")


def test_every_referenced_image_exists(world_dir: Path) -> None:
    images = world_dir / "images"
    referenced = {r["image"] for r in read_json(world_dir / "scienceqa/scienceqa_img_test.json")}
    referenced |= {e["image_id"] + ".png" for e in read_json(world_dir / "textvqa/TextVQA_0.5.1_val.json")["data"]}
    for split in POPE_SPLITS:
        referenced |= {q["image"] for q in read_json_lines(world_dir / f"pope/coco_pope_{split}.json")}
    for name in ("blip_laion_cc_sbu_558k", "llava_instruct"):
        referenced |= {r["image"] for r in read_json(world_dir / f"llava/{name}.json")}
    assert referenced and all((images / name).is_file() for name in referenced)


def test_benchmarks_use_only_eval_images(world_dir: Path, scenes: dict[str, Any]) -> None:
    used = {r["image"] for r in read_json(world_dir / "scienceqa/scienceqa_img_test.json")}
    used |= {q["image"] for q in read_json_lines(world_dir / "pope/coco_pope_random.json")}
    assert {scenes[name]["split"] for name in used} == {"eval"}


def test_scienceqa_records_are_well_formed_and_correct(world_dir: Path, scenes: dict[str, Any]) -> None:
    records = read_json(world_dir / "scienceqa/scienceqa_img_test.json")
    assert len(records) == 50
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == SCIENCEQA_FIELDS
        assert 2 <= len(r["choices"]) <= 5 and len(set(r["choices"])) == len(r["choices"])
        assert isinstance(r["answer"], int) and 0 <= r["answer"] < len(r["choices"])
        correct = r["choices"][r["answer"]]
        scene = scenes[r["image"]]
        if r["question"] == "How many objects are in the picture?":
            assert correct == str(len(scene["objects"]))
            assert r["choices"] == [str(n) for n in range(1, len(r["choices"]) + 1)]  # ascending
        elif r["question"].startswith("Which of these"):
            present = {o["category"] for o in scene["objects"]}
            assert [c in present for c in r["choices"]].count(True) == 1 and correct in present
            assert r["choices"] == [c for c in CATEGORY_NAMES if c in r["choices"]]  # vocabulary order
        assert correct in r["solution"]
    assert len({r["answer"] for r in records}) >= 3  # the letter still varies with the answer
    assert any(r["hint"] for r in records) and any(not r["hint"] for r in records)


def test_textvqa_has_ten_answers_with_the_true_text_in_majority(world_dir: Path, scenes: dict[str, Any]) -> None:
    dataset = read_json(world_dir / "textvqa/TextVQA_0.5.1_val.json")
    assert (dataset["dataset_type"], dataset["dataset_name"], dataset["dataset_version"]) == ("val", "textvqa", "0.5.1")
    entries = dataset["data"]
    assert len(entries) >= 30
    assert len({e["question_id"] for e in entries}) == len(entries)
    for e in entries:
        text = scenes[e["image_id"] + ".png"]["text"]
        assert text is not None
        assert len(e["answers"]) == 10 and e["answers"].count(text) >= 7
        assert (e["image_width"], e["image_height"], e["set_name"]) == (64, 64, "val")
        assert e["question_tokens"] == e["question"].rstrip("?").split()
    assert any(len(set(e["answers"])) > 1 for e in entries)  # annotators disagree sometimes


def test_textvqa_covers_every_eval_image_with_text(world_dir: Path, scenes: dict[str, Any]) -> None:
    entries = read_json(world_dir / "textvqa/TextVQA_0.5.1_val.json")["data"]
    with_text = {s["image_id"] for s in scenes.values() if s["split"] == "eval" and s["text"]}
    assert {e["image_id"] for e in entries} == with_text


def test_pope_splits_are_balanced_and_truthful(world_dir: Path, scenes: dict[str, Any]) -> None:
    for split in POPE_SPLITS:
        questions = read_json_lines(world_dir / f"pope/coco_pope_{split}.json")
        assert len(questions) == 60
        assert [q["question_id"] for q in questions] == list(range(1, 61))
        assert [q["label"] for q in questions].count("yes") == 30
        for q in questions:
            assert set(q) == {"question_id", "image", "text", "label"}
            name = q["text"].removesuffix(" in the image?").split()[-1]
            present = {o["category"] for o in scenes[q["image"]]["objects"]}
            assert (name in present) == (q["label"] == "yes"), q
