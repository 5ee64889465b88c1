"""The collator turns LLaVA records into model inputs that learn only the answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.data import IGNORE_INDEX, ConversationCollator, ConversationDataset, DataFormatError
from training.presets import build_tiny

TWO_TURNS = {
    "id": "multi-000000-1",
    "image": "000000.png",
    "conversations": [
        {"from": "human", "value": "In which part of the image is the triangle?\n<image>"},
        {"from": "gpt", "value": "right"},
        {"from": "human", "value": "Does the image contain a blue triangle?"},
        {"from": "gpt", "value": "Yes"},
    ],
}
ONE_TURN = {
    "id": "count-000001-0",
    "image": "000001.png",
    "conversations": [{"from": "human", "value": "<image>\nHow many shapes?"}, {"from": "gpt", "value": "3"}],
}


@pytest.fixture(scope="module")
def processor(small_world: Path):
    return build_tiny(small_world / "corpus" / "english.txt")[1]


@pytest.fixture
def collate(processor, small_world: Path) -> ConversationCollator:
    return ConversationCollator(processor, small_world / "images")


def test_labels_are_exactly_the_answers(collate, processor) -> None:
    batch = collate([TWO_TURNS, ONE_TURN])
    decode = processor.tokenizer.decode
    learned = [[t for t in row.tolist() if t != IGNORE_INDEX] for row in batch["labels"]]
    assert decode(learned[0]) == " right</s> Yes</s>"
    assert decode(learned[1]) == " 3</s>"


def test_prompt_follows_the_chat_template_with_the_image_first(collate, processor) -> None:
    ids = collate([TWO_TURNS])["input_ids"][0].tolist()
    text = processor.tokenizer.decode([t for t in ids if t != processor.image_token_id])
    assert text == (
        "USER: \nIn which part of the image is the triangle? ASSISTANT: right</s>"
        "USER: Does the image contain a blue triangle? ASSISTANT: Yes</s>"
    )
    first = ids.index(processor.image_token_id)
    assert ids[first : first + 64] == [processor.image_token_id] * 64  # one token per patch, together


def test_image_tokens_and_padding_are_masked(collate, processor) -> None:
    batch = collate([TWO_TURNS, ONE_TURN])
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ((ids == processor.image_token_id).sum(dim=1) == 64).all()
    assert (labels[ids == processor.image_token_id] == IGNORE_INDEX).all()
    padding = mask == 0
    assert padding[1].any() and not padding[0].any()  # the shorter record is right-padded
    assert (labels[padding] == IGNORE_INDEX).all() and (ids[padding] == processor.tokenizer.pad_token_id).all()
    assert batch["pixel_values"].shape == (2, 3, 64, 64)


def test_missing_image_names_the_record_and_the_path(collate, small_world: Path) -> None:
    record = {**ONE_TURN, "id": "lost-1", "image": "no/such.png"}
    with pytest.raises(DataFormatError, match=r"record 'lost-1': image not found: .*no/such\.png"):
        collate([ONE_TURN, record])


def test_truncation_that_would_cut_the_image_is_an_error(processor, small_world: Path) -> None:
    collate = ConversationCollator(processor, small_world / "images", max_length=40)
    with pytest.raises(DataFormatError, match="count-000001-0.*max_length 40"):
        collate([ONE_TURN])


def test_dataset_reads_a_llava_file(small_world: Path) -> None:
    dataset = ConversationDataset.from_json(small_world / "llava" / "llava_instruct.json", small_world / "images")
    assert len(dataset) == len(json.loads((small_world / "llava" / "llava_instruct.json").read_text()))
    assert dataset[0]["conversations"][0]["from"] == "human"


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "no records to train on"),
        ([ONE_TURN, {"id": "x9", "image": "a.png", "conversations": [{"from": "gpt", "value": "hi"}]}],
         r"record 1 \(id 'x9'\): 'conversations' must be a non-empty list of human/gpt pairs"),
        ([{"id": "x8", "image": "a.png", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}],
         r"record 0 \(id 'x8'\): conversations\[0\] should be"),
        ([{"id": "t1", "conversations": ONE_TURN["conversations"]}], "'image' is missing"),
    ],
)
def test_bad_files_are_reported_with_file_and_record(tmp_path: Path, records, message) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records))
    with pytest.raises(DataFormatError, match=message) as error:
        ConversationDataset.from_json(path, tmp_path)
    assert str(path) in str(error.value)


def test_combined_datasets_keep_each_image_root(processor, small_world: Path, tmp_path: Path) -> None:
    other_root = tmp_path / "other-images"
    other_root.mkdir()
    (other_root / "only-here.png").write_bytes((small_world / "images" / "000001.png").read_bytes())
    first = ConversationDataset([ONE_TURN], small_world / "images", source="a.json")
    second = ConversationDataset([{**ONE_TURN, "id": "o1", "image": "only-here.png"}], other_root, source="b.json")
    combined = ConversationDataset.combine([first, second])
    assert len(combined) == 2 and combined.source == "a.json + b.json"
    batch = ConversationCollator(processor, combined.image_root)([combined[0], combined[1]])
    assert batch["pixel_values"].shape == (2, 3, 64, 64)
