"""`yes_share` sets the share of "Yes" among instruction yes/no questions (an
unbalanced set can be made on purpose), and a question's category alone does not
tell its answer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from world_readers import read_json

from world.generator import generate_world
from world.vocabulary import CATEGORY_NAMES


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


def test_the_name_alone_does_not_tell_the_answer(world_dir: Path) -> None:
    """A "No" asks about categories as often as a "Yes" does, so answering from the name
    (each category's majority answer) is barely better than a coin: the model must look."""
    by_name: dict[str, Counter[str]] = {}
    for _, question, answer in yes_no_answers(world_dir):
        words = question.split("\n")[0].rstrip("?").split()
        (name,) = [w for w in words if w in CATEGORY_NAMES]
        by_name.setdefault(name, Counter())[answer] += 1
    total = sum(sum(c.values()) for c in by_name.values())
    from_name = sum(c.most_common(1)[0][1] for c in by_name.values()) / total
    assert from_name <= 0.62, {name: dict(c) for name, c in by_name.items()}
