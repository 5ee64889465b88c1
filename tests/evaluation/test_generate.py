"""Batched greedy generation answers each question as if it were asked alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.generate import _prompt, generate_answers
from training.data import ConversationCollator
from training.presets import build_tiny


@pytest.fixture(scope="module")
def tiny(small_world: Path):
    return build_tiny(small_world / "corpus" / "english.txt")


def test_the_prompt_is_the_training_text_up_to_the_answer(tiny, small_world: Path) -> None:
    processor = tiny[1]
    record = {"id": "r", "image": "000000.png", "conversations": [
        {"from": "human", "value": "How many shapes?\n<image>"}, {"from": "gpt", "value": "2"}]}
    training_ids = ConversationCollator(processor, small_world / "images")([record])["input_ids"][0].tolist()
    prompt_ids = processor.tokenizer(_prompt(processor, "How many shapes?", 64), add_special_tokens=False)["input_ids"]
    assert training_ids[: len(prompt_ids)] == prompt_ids
    assert processor.tokenizer.decode(training_ids[len(prompt_ids):]) == " 2</s>"


def test_batched_answers_match_one_at_a_time(tiny, small_world: Path) -> None:
    model, processor = tiny
    images = small_world / "images"
    items = [
        (images / "000000.png", "How many shapes are in the image?"),
        (images / "000001.png", "Is there a red circle in the image? Please answer yes or no."),
        (images / "000002.png", "What colour?"),
    ]
    batched = generate_answers(model, processor, items, max_new_tokens=4, batch_size=3)
    alone = [generate_answers(model, processor, [item], max_new_tokens=4)[0] for item in items]
    assert batched == alone
    assert all(isinstance(answer, str) and answer for answer in batched)
    assert processor.tokenizer.padding_side == "right"  # left padding does not leak out
