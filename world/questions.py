"""Question writers: one function per task type, each turning a scene into one
(question, answer) pair, or None when the scene cannot support the question
unambiguously (then the caller picks another task).

Answer conventions (documented for the importers and the metrics):
- yes/no: exactly "Yes" or "No" (LLaVA-1.5 style); POPE labels stay "yes"/"no".
- colour, position: one lower-case word ("red", "left", "centre").
- count: digits ("2"; "0" when asked about an absent shape).
- reading: the printed text verbatim ("milk", "17").
- multiple choice: the option's letter ("B"), options listed "A. red" one per line.

Like LLaVA-1.5's data mix, part of the short-answer questions carry the answer-format
instruction the benchmarks use ("Answer the question using a single word or phrase."),
and multiple-choice questions end with "Answer with the option's letter from the given
choices directly.": a model that never saw them answers a benchmark prompt with a caption.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from world.scene import Scene, hard_negatives, refer
from world.vocabulary import COLOURS, POSITIONS, SHAPE_PLURALS, SHAPES, all_object_names, article

QA = tuple[str, str]
SHORT_ANSWER = "Answer the question using a single word or phrase."
LETTER_ANSWER = "Answer with the option's letter from the given choices directly."
HARD_NEGATIVE_RATE = 0.5  # share of "No" questions that are hard negatives, when possible


class YesNoBalancer:
    """Keeps the share of "Yes" among yes/no questions at `yes_share`.

    Each label is drawn at random, but forced back whenever the running count drifts
    more than one question from the target, so even a small world hits the requested
    share (an unbalanced set can be made on purpose, e.g. to reproduce yes-collapse).
    """

    def __init__(self, yes_share: float, rng: random.Random) -> None:
        self.yes_share = yes_share
        self.rng = rng
        self.yes = 0
        self.total = 0

    def choose(self) -> bool:
        drift = self.yes - self.yes_share * self.total
        if drift >= 1:
            return False
        if drift <= -1:
            return True
        return self.rng.random() < self.yes_share

    def record(self, label: bool) -> None:
        self.yes += int(label)
        self.total += 1


def ask_yes_no(scene: Scene, rng: random.Random, label: bool) -> QA:
    """Presence of a colour+shape object. Half the "No" questions are hard negatives
    (colour and shape both present, on different objects) when the scene allows."""
    if label:
        name = rng.choice(sorted(scene.object_names()))
    else:
        hard = hard_negatives(scene)
        if hard and rng.random() < HARD_NEGATIVE_RATE:
            name = rng.choice(hard)
        else:
            name = rng.choice([n for n in all_object_names() if n not in scene.object_names()])
    a = article(name)
    question = rng.choice(
        (
            f"Is there {a} {name} in the image?",
            f"Is there {a} {name} in the image?",
            f"Is there {a} {name}?",
            f"Does the image contain {a} {name}?",
            f"Can you see {a} {name} in the picture?",
        )
    )
    return question, "Yes" if label else "No"


def ask_colour(scene: Scene, rng: random.Random) -> QA | None:
    """Colour of a shape named without its colour ("the big circle", "the star")."""
    target = rng.choice(scene.objects)
    ref = refer(scene, target, without=("colour",))
    if ref is None:
        return None
    question = rng.choice(
        (f"What colour is the {ref}?", f"What is the colour of the {ref}?", f"Which colour is the {ref}?")
    )
    return question, target.colour


def ask_count(scene: Scene, rng: random.Random) -> QA:
    """All shapes, one kind of shape (sometimes absent: "0"), or one colour."""
    kind = rng.choices(("all", "shape", "colour"), weights=(3, 2, 1))[0]
    if kind == "all":
        question = rng.choice(
            ("How many shapes are there?", "How many shapes are in the image?", "How many shapes can you see?")
        )
        return question, str(len(scene.objects))
    if kind == "shape":
        present = sorted({o.shape for o in scene.objects})
        shape = rng.choice(present) if rng.random() < 0.8 else rng.choice(SHAPES)
        n = sum(o.shape == shape for o in scene.objects)
        return f"How many {SHAPE_PLURALS[shape]} are there?", str(n)
    present_colours = sorted({o.colour for o in scene.objects})
    colour = rng.choice(present_colours) if rng.random() < 0.8 else rng.choice(COLOURS)
    n = sum(o.colour == colour for o in scene.objects)
    return f"How many {colour} shapes are there?", str(n)


def ask_position(scene: Scene, rng: random.Random) -> QA | None:
    """Where a shape is: left, right, top, bottom or centre."""
    target = rng.choice(scene.objects)
    ref = refer(scene, target, without=("position",))
    if ref is None:
        return None
    question = rng.choice((f"Where is the {ref}?", f"In which part of the image is the {ref}?"))
    return question, target.position


def ask_reading(scene: Scene, rng: random.Random) -> QA | None:
    """The printed word or number, verbatim."""
    if scene.text is None:
        return None
    if scene.text_kind == "number":
        options = ("What number is written in the image?", "Which number is printed in the picture?")
    else:
        options = ("What word is written in the image?", "Which word is printed in the picture?")
    return rng.choice((*options, "What does the text in the image say?")), scene.text


def ask_choice(scene: Scene, rng: random.Random) -> QA | None:
    """A colour, count or position question as multiple choice (A-OKVQA style in LLaVA-1.5)."""
    kind = rng.choice(("colour", "count", "position"))
    qa = WRITERS[kind](scene, rng)
    if qa is None:
        return None
    question, answer = qa
    pool = {"colour": COLOURS, "position": POSITIONS, "count": tuple(str(n) for n in range(6))}[kind]
    distractors = rng.sample([option for option in pool if option != answer], rng.choice((2, 3)))
    options = [answer, *distractors]
    rng.shuffle(options)
    lines = "\n".join(f"{chr(ord('A') + i)}. {option}" for i, option in enumerate(options))
    return f"{question}\n{lines}\n{LETTER_ANSWER}", chr(ord("A") + options.index(answer))


# Task name (also the id prefix of instruction records) -> writer. yes/no is separate
# because it needs the balancer's label.
WRITERS: dict[str, Callable[[Scene, random.Random], QA | None]] = {
    "colour": ask_colour,
    "count": ask_count,
    "position": ask_position,
    "read": ask_reading,
}
