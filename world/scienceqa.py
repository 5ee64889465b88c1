"""The ScienceQA-IMG benchmark, in the fields lmms-eval's `scienceqa_img` task reads
(HF lmms-lab/ScienceQA, config "ScienceQA-IMG"), with "image" a file name instead of
an embedded picture.

Multiple choice with 2-5 options in shuffled order; every question is answerable from
the picture alone (the hint, when present, never gives the answer away).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from world.scene import Scene, hard_negatives, refer
from world.vocabulary import COLOURS, POSITIONS, SHAPES, all_object_names

HINTS: tuple[str, ...] = (
    "Look at the picture.",
    "The picture shows shapes on a white background.",
    "Shapes can have different colours and sizes.",
    "Some pictures also show a word or a number.",
)
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
        "Every shape in a picture has a colour. Red, blue, green, yellow and purple are colours.",
    ),
    "shape": Kind(
        "shapes and colours", "Identify shapes", "Identify a shape by its colour", "grade2",
        "A circle is round. A square has four equal sides. A triangle has three sides. A star has five points.",
    ),
    "count": Kind(
        "counting", "Count shapes", "Count the shapes in a picture", "grade1",
        "To count shapes, point at each shape once and say the next number.",
    ),
    "position": Kind(
        "spatial reasoning", "Locate shapes", "Tell where a shape is in a picture", "grade3",
        "A shape can be on the left, on the right, at the top, at the bottom or in the centre of a picture.",
    ),
    "presence": Kind(
        "shapes and colours", "Identify objects", "Find which shape is in a picture", "grade2",
        "To find a shape, check both its colour and its kind. A red square is not a red circle.",
    ),
}  # fmt: skip


def build_scienceqa(scenes: list[Scene], count: int, rng: random.Random) -> list[dict[str, object]]:
    """One question about each of `count` scenes (sampled, then kept in id order)."""
    chosen = sorted(rng.sample(scenes, min(count, len(scenes))), key=lambda s: s.image_id)
    records = []
    for scene in chosen:
        writers = [_colour, _shape, _count, _position, _presence]
        rng.shuffle(writers)
        for writer in writers:
            made = writer(scene, rng)
            if made is not None:
                records.append(_record(scene, rng, *made))
                break
    return records


Made = tuple[str, str, str, list[str], str]  # kind, question, answer, distractors, solution


def _record(scene: Scene, rng: random.Random, kind: str, question: str, answer: str,
            distractors: list[str], solution: str) -> dict[str, object]:  # fmt: skip
    n_options = rng.choices((2, 3, 4, 5), weights=(1, 2, 3, 2))[0]
    choices = [answer, *distractors[: n_options - 1]]
    rng.shuffle(choices)
    meta = KINDS[kind]
    return {
        "id": f"{scene.image_id}-{kind}",
        "question": question,
        "choices": choices,
        "answer": choices.index(answer),
        "hint": rng.choice(HINTS) if rng.random() < HINT_RATE else "",
        "image": scene.file_name,
        "task": "closed choice",
        "grade": meta.grade,
        "subject": "natural science",
        "topic": meta.topic,
        "category": meta.category,
        "skill": meta.skill,
        "lecture": meta.lecture,
        "solution": solution,
    }


def _distractors(rng: random.Random, answer: str, preferred: list[str], pool: tuple[str, ...] | list[str]) -> list[str]:
    """Preferred (harder) distractors first, then the rest of the pool, each shuffled."""
    first = [p for p in dict.fromkeys(preferred) if p != answer]
    rest = [p for p in pool if p != answer and p not in first]
    rng.shuffle(first)
    rng.shuffle(rest)
    return first + rest


def _colour(scene: Scene, rng: random.Random) -> Made | None:
    target = rng.choice(scene.objects)
    ref = refer(scene, target, without=("colour",))
    if ref is None:
        return None
    others = [o.colour for o in scene.objects]
    solution = f"Look at the {ref}. It is {target.colour}. So the answer is {target.colour}."
    distractors = _distractors(rng, target.colour, others, COLOURS)
    return "colour", f"Which colour is the {ref}?", target.colour, distractors, solution


def _shape(scene: Scene, rng: random.Random) -> Made | None:
    target = rng.choice(scene.objects)
    if len({o.shape for o in scene.objects if o.colour == target.colour}) != 1:
        return None
    others = [o.shape for o in scene.objects]
    solution = f"The {target.colour} shape is a {target.shape}. So the answer is {target.shape}."
    distractors = _distractors(rng, target.shape, others, SHAPES)
    return "shape", f"Which shape is {target.colour}?", target.shape, distractors, solution


def _count(scene: Scene, rng: random.Random) -> Made:
    n = str(len(scene.objects))
    solution = f"There are {n} shapes in the picture. So the answer is {n}."
    return "count", "How many shapes are there?", n, _distractors(rng, n, [], ("1", "2", "3", "4", "5")), solution


def _position(scene: Scene, rng: random.Random) -> Made | None:
    target = rng.choice(scene.objects)
    ref = refer(scene, target, without=("position",))
    if ref is None:
        return None
    solution = f"The {ref} is in the {target.position} part of the picture. So the answer is {target.position}."
    distractors = _distractors(rng, target.position, [], POSITIONS)
    return "position", f"Where is the {ref}?", target.position, distractors, solution


def _presence(scene: Scene, rng: random.Random) -> Made:
    answer = rng.choice(sorted(scene.object_names()))
    absent = [n for n in all_object_names() if n not in scene.object_names()]
    solution = f"The picture shows a {answer}. So the answer is {answer}."
    distractors = _distractors(rng, answer, hard_negatives(scene), absent)
    return "presence", "Which of these shapes is in the picture?", answer, distractors, solution
