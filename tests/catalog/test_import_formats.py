"""Importing each of the five formats: what an admin finds in the database afterwards."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from catalog.importers.llava import task_type
from catalog.models import Dataset, Item
from catalog.world_datasets import import_world

pytestmark = pytest.mark.django_db


def test_every_world_dataset_imports_with_its_records(small_world):
    results = {r.dataset.name: r for r in import_world(small_world)}
    manifest = json.loads((small_world / "manifest.json").read_text())
    assert set(results) == {"world-captions", "world-instruct", "world-scienceqa", "world-textvqa", "world-pope"}
    for name, result in results.items():
        assert result.created == Item.objects.filter(dataset__name=name).count() > 0
    captions = json.loads((small_world / "llava/blip_laion_cc_sbu_558k.json").read_text())
    assert results["world-captions"].created == len(captions)
    assert Dataset.objects.get(name="world-pope").kind == "benchmark"
    assert Dataset.objects.get(name="world-instruct").kind == "train"
    assert Dataset.objects.get(name="world-captions").image_root == str((small_world / "images").resolve())
    assert manifest  # the generator describes what it wrote


def test_llava_items_keep_turns_and_relative_image_paths(small_world):
    import_world(small_world)
    source = json.loads((small_world / "llava/llava_instruct.json").read_text())[0]
    item = Item.objects.get(dataset__name="world-instruct", external_id=source["id"])
    assert item.conversations == source["conversations"]
    assert item.image == source["image"] and not item.image.startswith("/")
    assert (small_world / "images" / item.image).exists()
    assert item.task_type != "" and item.source_index == 0


def test_benchmarks_keep_what_scoring_needs(small_world):
    import_world(small_world)
    sqa = json.loads((small_world / "scienceqa/scienceqa_img_test.json").read_text())[0]
    item = Item.objects.get(dataset__name="world-scienceqa", external_id=str(sqa["id"]))
    assert item.meta["choices"] == sqa["choices"] and item.meta["answer"] == sqa["answer"]
    assert item.conversations[1]["value"] == sqa["choices"][sqa["answer"]]

    tvqa = json.loads((small_world / "textvqa/TextVQA_0.5.1_val.json").read_text())["data"][0]
    item = Item.objects.get(dataset__name="world-textvqa", external_id=str(tvqa["question_id"]))
    assert item.meta["answers"] == tvqa["answers"] and item.image.startswith(tvqa["image_id"])

    splits = set(Item.objects.filter(dataset__name="world-pope").values_list("split", flat=True))
    assert splits == {"random", "popular", "adversarial"}
    line = (small_world / "pope/coco_pope_adversarial.json").read_text().splitlines()[0]
    pope = json.loads(line)
    item = Item.objects.get(dataset__name="world-pope", external_id=f"adversarial-{pope['question_id']}")
    assert item.meta["label"] == pope["label"] and item.conversations[1]["value"] == pope["label"].capitalize()


def test_monkey_format_becomes_llava_turns_with_the_image_token(tmp_path, small_world):
    sample = [
        {
            "id": "identity_0",
            "conversations": [
                {"from": "user", "value": f"Picture 1: <img>./{_an_image(small_world)}</img>\nWhat colour is the circle?"},
                {"from": "assistant", "value": "Red."},
                {"from": "user", "value": "How many shapes are there?"},
                {"from": "assistant", "value": "2"},
            ],
        }
    ]
    path = tmp_path / "monkey.json"
    path.write_text(json.dumps(sample))
    call_command("import_dataset", str(path), format="monkey", name="monkey", images=str(small_world / "images"))
    item = Item.objects.get(dataset__name="monkey")
    assert item.image == _an_image(small_world)
    assert [t["from"] for t in item.conversations] == ["human", "gpt", "human", "gpt"]
    assert item.conversations[0]["value"] == "<image>\nWhat colour is the circle?"


def test_world_monkey_file_imports_the_same_qa_as_its_llava_twin(small_world):
    call_command(
        "import_dataset", str(small_world / "monkey/monkey_instruct.json"),
        format="monkey", name="monkey-world", images=str(small_world / "images"),
    )  # fmt: skip
    import_world(small_world)
    llava = dict(Item.objects.filter(dataset__name="world-instruct").values_list("external_id", "conversations"))
    monkey = dict(Item.objects.filter(dataset__name="monkey-world").values_list("external_id", "conversations"))
    assert monkey == llava


def test_command_reports_counts(small_world, capsys):
    path = small_world / "scienceqa/scienceqa_img_test.json"
    call_command("import_dataset", str(path), format="scienceqa", name="sqa", images=str(small_world / "images"))
    assert "created, 0 updated, 0 unchanged" in capsys.readouterr().out


def _an_image(world) -> str:
    return sorted(p.name for p in (world / "images").iterdir())[0]


def test_world_instruction_records_get_their_task_types(small_world):
    import_world(small_world)
    types = set(Item.objects.filter(dataset__name="world-instruct").values_list("task_type", flat=True))
    assert types == {"yes_no", "colour", "count", "multiple_choice"}  # world/instruct.py TASK_WEIGHTS
    captions = set(Item.objects.filter(dataset__name="world-captions").values_list("task_type", flat=True))
    assert captions == {"caption"}


@pytest.mark.parametrize(("record_id", "n_turns", "expected"), [
    ("position-000001-0", 1, "position"), ("read-000001-0", 1, "reading"), ("multi-000001-0", 3, "conversation"),
    ("000001", 1, "caption"), ("vqa-000001", 2, "conversation"),
])  # fmt: skip
def test_task_types_the_world_no_longer_writes_are_still_read_from_ids(record_id, n_turns, expected):
    human = {"from": "human", "value": "<image>\nDescribe the image."}
    question = {"from": "human", "value": "Where is the apple?"}
    turns = [human if n_turns == 1 else question, {"from": "gpt", "value": "left"}] * n_turns
    assert task_type(record_id, turns) == expected
