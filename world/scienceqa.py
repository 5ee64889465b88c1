"""The ScienceQA-IMG benchmark, in the fields lmms-eval's `scienceqa_img` task reads
(HF lmms-lab/ScienceQA, config "ScienceQA-IMG"), with "image" a file name instead of
an embedded picture.

Multiple choice with 2-5 options in a fixed natural order (world.questions.choice_question,
the same writer the instruction data's multiple-choice questions come from); every
question is answerable from the picture alone (the hint never gives the answer away).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from world.questions import CHOICE_KINDS, HINTS, Choice, choice_question
from world.scene import Scene

HINT_RATE = 0.4


@dataclass(frozen=True)
class Kind:
    """What is constant for one kind of question: ScienceQA's metadata fields."""

    topic: str
    category: str
    skill: str
    grade: str
    lecture: str


KINDS: dict[str, Kind] = {
    "colour": Kind(
        "shapes and colours", "Identify colours", "Identify the colour of a shape", "grade1",
        "Every object in a picture has a colour. Red, blue, green, yellow and purple are colours.",
    ),
    "count": Kind(
        "counting", "Count objects", "Count the objects in a picture", "grade1",
        "To count objects, point at each object once and say the next number.",
    ),
    "presence": Kind(
        "objects", "Identify objects", "Find which object is in a picture", "grade2",
        "Each kind of object has its own look. A plum is a purple circle; an apple is a red circle.",
    ),
}  # fmt: skip


def build_scienceqa(scenes: list[Scene], count: int, rng: random.Random) -> list[dict[str, object]]:
    """One question about each of `count` scenes (sampled, then kept in id order)."""
    chosen = sorted(rng.sample(scenes, min(count, len(scenes))), key=lambda s: s.image_id)
    records = []
    for scene in chosen:
        kinds = list(CHOICE_KINDS)
        rng.shuffle(kinds)
        for kind in kinds:
            made = choice_question(scene, rng, kind)
            if made is not None:
                records.append(_record(scene, rng, made))
                break
    return records


def _record(scene: Scene, rng: random.Random, choice: Choice) -> dict[str, object]:
    meta = KINDS[choice.kind]
    return {
        "id": f"{scene.image_id}-{choice.kind}",
        "question": choice.question,
        "choices": list(choice.options),
        "answer": choice.options.index(choice.answer),
        "hint": rng.choice(HINTS) if rng.random() < HINT_RATE else "",
        "image": scene.file_name,
        "task": "closed choice",
        "grade": meta.grade,
        "subject": "natural science",
        "topic": meta.topic,
        "category": meta.category,
        "skill": meta.skill,
        "lecture": meta.lecture,
        "solution": choice.solution,
    }
