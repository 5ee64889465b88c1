"""`yes_share` sets the share of "Yes" among instruction yes/no questions (an
unbalanced set can be made on purpose), and half the "No" questions are hard
negatives when the picture allows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from world_readers import read_json

from world.generator import generate_world


def yes_no_answers(world_dir: Path) -> list[tuple[str, str, str]]:
    """(image, question, answer) for every yes/no turn of the instruction set."""
    found = []
    for r in read_json(world_dir / "llava/llava_instruct.json"):
        turns = r["conversations"]
        for q, a in zip(turns[::2], turns[1::2], strict=True):
            if a["value"] in ("Yes", "No"):
                found.append((r["image"], q["value"].removeprefix("<image>\n"), a["value"]))
    return found


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 0.85, 1.0])
def test_yes_share_is_honoured(tmp_path: Path, share: float) -> None:
    manifest = generate_world(tmp_path, seed=5, size="small", yes_share=share)
    answers = [a for _, _, a in yes_no_answers(tmp_path)]
    assert len(answers) > 100
    assert abs(answers.count("Yes") / len(answers) - share) <= 0.02
    assert manifest["counts"]["instruct_yes"] == answers.count("Yes")


def test_yes_share_leaves_benchmarks_balanced(tmp_path: Path) -> None:
    generate_world(tmp_path, seed=5, size="small", yes_share=0.9)
    lines = (tmp_path / "pope/coco_pope_random.json").read_text().splitlines()
    assert sum('"label": "yes"' in line for line in lines) * 2 == len(lines)


def test_some_no_questions_are_hard_negatives(world_dir: Path, scenes: dict[str, Any]) -> None:
    hard = 0
    noes = 0
    for image, question, answer in yes_no_answers(world_dir):
        if answer != "No":
            continue
        noes += 1
        objects = scenes[image]["objects"]
        words = question.split("\n")[0].rstrip("?").split()  # without the answer-format line
        colour_shown = any(o["colour"] in words for o in objects)
        shape_shown = any(o["shape"] in words for o in objects)
        hard += colour_shown and shape_shown
    assert 0.2 <= hard / noes <= 0.6
