"""Question writers: one function per task type, each turning a scene into one
(question, answer) pair, or None when the scene cannot support the question
unambiguously (then the caller picks another task).

Answer conventions (documented for the importers and the metrics):
- yes/no: exactly "Yes" or "No" (LLaVA-1.5 style); POPE labels stay "yes"/"no".
- colour, position, category: one lower-case word ("red", "left", "plum").
- count: digits ("2"; "0" when asked about an absent shape).
- reading: the printed text verbatim ("milk", "7").
- multiple choice: the option's letter ("B"), options listed "A. red" one per line.

Like LLaVA-1.5's data mix, part of the short-answer questions carry the answer-format
instruction the benchmarks use ("Answer the question using a single word or phrase."),
and multiple-choice questions end with "Answer with the option's letter from the given
choices directly.": a model that never saw them answers a benchmark prompt with a caption.
Multiple-choice questions are written once (`choice_question`) for the instruction data
and the ScienceQA benchmark, so the letters the finetuning data teaches are the ones
the benchmark asks for.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from world.scene import Scene, refer
from world.vocabulary import CATEGORY_NAMES, CATEGORY_WEIGHTS, COLOURS, SHAPE_PLURALS, article

QA = tuple[str, str]
SHORT_ANSWER = "Answer the question using a single word or phrase."
LETTER_ANSWER = "Answer with the option's letter from the given choices directly."
# POPE's own wording most of the time, so the benchmark's question is a familiar one.
YES_NO_PHRASINGS: tuple[tuple[str, float], ...] = (
    ("Is there {a} {name} in the image?", 6),
    ("Is there {a} {name}?", 1),
    ("Does the image contain {a} {name}?", 1),
    ("Can you see {a} {name} in the picture?", 1),
)
HINTS: tuple[str, ...] = (
    "Look at the picture.",
    "The picture shows objects on a white background.",
    "Objects can have different colours and sizes.",
    "Some pictures also show a word or a number.",
)


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


def ask_yes_no(scene: Scene, rng: random.Random, label: bool) -> QA | None:
    """Presence of a category. A "No" asks about an absent category drawn by the
    categories' frequencies, as a "Yes" does in effect, so the name alone says nothing
    about the answer (a model must look, not learn which names are usually there)."""
    present = scene.object_names()
    if label:
        name = rng.choice(sorted(present))
    else:
        absent = [(n, w) for n, w in zip(CATEGORY_NAMES, CATEGORY_WEIGHTS, strict=True) if n not in present]
        if not absent:
            return None
        name = rng.choices([n for n, _ in absent], weights=[w for _, w in absent])[0]
    template = rng.choices([t for t, _ in YES_NO_PHRASINGS], weights=[w for _, w in YES_NO_PHRASINGS])[0]
    return template.format(a=article(name), name=name), "Yes" if label else "No"


def ask_colour(scene: Scene, rng: random.Random) -> QA | None:
    """Colour of an object named by its shape ("the big circle", "the star")."""
    target = rng.choice(scene.objects)
    ref = refer(scene, target, without=("colour", "category"))
    if ref is None:
        return None
    question = rng.choice(
        (f"What colour is the {ref}?", f"What is the colour of the {ref}?", f"Which colour is the {ref}?")
    )
    return question, target.colour


def ask_count(scene: Scene, rng: random.Random) -> QA:
    """All objects, or one kind of shape (sometimes absent: "0")."""
    if rng.random() < 0.75:
        question = rng.choice(
            ("How many objects are there?", "How many objects are in the image?", "How many objects can you see?")
        )
        return question, str(len(scene.objects))
    present = sorted({o.shape for o in scene.objects})
    shape = rng.choice(present) if rng.random() < 0.8 else rng.choice(sorted(SHAPE_PLURALS))
    n = sum(o.shape == shape for o in scene.objects)
    return f"How many {SHAPE_PLURALS[shape]} are there?", str(n)


def ask_position(scene: Scene, rng: random.Random) -> QA | None:
    """Where an object is: left, right, top, bottom or centre."""
    target = rng.choice(scene.objects)
    question = rng.choice((f"Where is the {target.category}?", f"In which part of the image is the {target.category}?"))
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


@dataclass(frozen=True)
class Choice:
    """A multiple-choice question: its kind (ScienceQA's skill), options and answer."""

    kind: str
    question: str
    options: tuple[str, ...]
    answer: str
    solution: str

    @property
    def letter(self) -> str:
        return chr(ord("A") + self.options.index(self.answer))

    def prompt(self, hint: str = "") -> str:
        """lmms-eval's scienceqa_img prompt with LLaVA's post prompt."""
        context = f"Context: {hint}\n" if hint else ""
        lines = "\n".join(f"{chr(ord('A') + i)}. {option}" for i, option in enumerate(self.options))
        return f"{context}{self.question}\n{lines}\n{LETTER_ANSWER}"


CHOICE_KINDS: tuple[str, ...] = ("count", "presence", "colour")


def choice_question(scene: Scene, rng: random.Random, kind: str) -> Choice | None:
    """A multiple-choice question of one kind, its options in a fixed natural order
    (counts ascending, objects and colours in the vocabulary's order), as ScienceQA's
    choices mostly are: with shuffled letters the tiny preset stays at chance
    (tiny-vlm-measurements.md), with a fixed order the letter follows from the answer."""
    if kind == "count":
        n = str(len(scene.objects))
        options = tuple(str(k) for k in range(1, rng.choice((3, 4, 5)) + 1))
        solution = f"There are {n} objects in the picture. So the answer is {n}."
        return Choice("count", "How many objects are in the picture?", options, n, solution)
    if kind == "presence":
        answer = rng.choice(sorted(scene.object_names()))
        absent = [n for n in CATEGORY_NAMES if n not in scene.object_names()]
        chosen = {answer, *rng.sample(absent, min(len(absent), rng.choice((1, 2, 3))))}
        options = tuple(n for n in CATEGORY_NAMES if n in chosen)
        solution = f"The picture shows {article(answer)} {answer}. So the answer is {answer}."
        return Choice("presence", "Which of these objects is in the picture?", options, answer, solution)
    if kind == "colour":
        target = rng.choice(scene.objects)
        ref = refer(scene, target, without=("colour", "category"))
        if ref is None:
            return None
        others = [c for c in COLOURS if c != target.colour]
        chosen = {target.colour, *rng.sample(others, rng.choice((1, 2, 3)))}
        options = tuple(c for c in COLOURS if c in chosen)
        solution = f"Look at the {ref}. It is {target.colour}. So the answer is {target.colour}."
        return Choice("colour", f"Which colour is the {ref}?", options, target.colour, solution)
    raise ValueError(f"unknown multiple-choice kind {kind!r}; expected one of {', '.join(CHOICE_KINDS)}")


def ask_choice(scene: Scene, rng: random.Random) -> QA | None:
    """A count, presence or colour question as multiple choice (ScienceQA style)."""
    choice = choice_question(scene, rng, rng.choice(CHOICE_KINDS))
    if choice is None:
        return None
    hint = rng.choice(HINTS) if rng.random() < 0.4 else ""
    return choice.prompt(hint), choice.letter


# Task name (also the id prefix of instruction records) -> writer. yes/no is separate
# because it needs the balancer's label.
WRITERS: dict[str, Callable[[Scene, random.Random], QA | None]] = {
    "colour": ask_colour,
    "count": ask_count,
    "position": ask_position,
    "read": ask_reading,
}
