"""Instruction QA: single questions per image (short multi-turn conversations when MULTI_TURN_RATE > 0).

Records are built once in a neutral form and written twice (LLaVA and Qwen-VL/Monkey
formats, see conversation_formats.py), so both files carry exactly the same QA. The
task type travels in the record id ("count-000123-0"), because LLaVA's loader only
reads id, image and conversations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from world.questions import QA, SHORT_ANSWER, WRITERS, YesNoBalancer, ask_choice, ask_yes_no
from world.scene import Scene

# Presence (yes/no) weighs most: it is the slowest skill to learn. Position and reading
# questions and multi-turn records are left out of the mix on purpose: with any of them in
# it, even at a small weight or with yes/no doubled, the tiny preset's presence stays at the
# blind level (POPE 0.50-0.59) where without them it reaches 0.79-0.90 (docs/performance.md,
# "World v3"). Their writers stay in world/questions.py: a weight here brings them back.
TASK_WEIGHTS: dict[str, float] = {"yesno": 6, "colour": 2, "count": 2, "mc": 3}
SHORT_ANSWER_RATE = 0.6  # share of single-word questions that carry the answer-format instruction
MULTI_TURN_RATE = 0.0  # a rate above 0 gives 2- and 3-turn records (the LLaVA format allows them)
MAX_TRIES = 12


@dataclass(frozen=True)
class InstructRecord:
    """One conversation about one image; `task` is "multi" for multi-turn records."""

    id: str
    image: str
    task: str
    turns: tuple[QA, ...]


def build_instruct(
    scenes: list[Scene], per_image: int, rng: random.Random, balancer: YesNoBalancer
) -> list[InstructRecord]:
    """`per_image` records per scene; no question is asked twice about one image."""
    records: list[InstructRecord] = []
    for scene in scenes:
        asked: set[str] = set()
        for k in range(per_image):
            n_turns = rng.choice((2, 3)) if rng.random() < MULTI_TURN_RATE else 1
            tasks: list[str] = []
            turns: list[QA] = []
            for _ in range(MAX_TRIES):
                if len(turns) == n_turns:
                    break
                task = _pick_task(scene, rng, exclude=tasks)
                qa = _ask(scene, task, rng, balancer, asked)
                if qa is not None:
                    tasks.append(task)
                    turns.append(qa)
            if not turns:
                continue  # a one-shape scene already asked everything: skip the record
            name = "multi" if len(turns) > 1 else tasks[0]
            records.append(InstructRecord(f"{name}-{scene.image_id}-{k}", scene.file_name, name, tuple(turns)))
    return records


def _pick_task(scene: Scene, rng: random.Random, exclude: list[str]) -> str:
    options = [t for t in TASK_WEIGHTS if t not in exclude and (t != "read" or scene.text is not None)]
    if not options:  # every task used in this conversation: repeat one
        options = [t for t in TASK_WEIGHTS if t != "read" or scene.text is not None]
    return rng.choices(options, weights=[TASK_WEIGHTS[t] for t in options])[0]


def _ask(scene: Scene, task: str, rng: random.Random, balancer: YesNoBalancer, asked: set[str]) -> QA | None:
    if task == "yesno":
        label = balancer.choose()
        qa: QA | None = ask_yes_no(scene, rng, label)
    elif task == "mc":
        qa = ask_choice(scene, rng)
    else:
        qa = WRITERS[task](scene, rng)
    if qa is None or qa[0] in asked:
        return None
    if task == "yesno":
        balancer.record(qa[1] == "Yes")  # only questions actually kept count
    asked.add(qa[0])
    if task != "mc" and rng.random() < SHORT_ANSWER_RATE:
        return f"{qa[0]}\n{SHORT_ANSWER}", qa[1]
    return qa
