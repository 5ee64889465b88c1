"""The TextVQA benchmark (TextVQA_0.5.1_val.json layout), on the images with text.

Real TextVQA has 10 human answers per question and scores a prediction by how many
annotators agree; so the answers here vary the way annotators do (case, spelling a
number out, a truncated or wrong answer, "unanswerable"), with the true text always
the clear majority.
"""

from __future__ import annotations

import random
from typing import Any

from world.scene import Scene
from world.vocabulary import NUMBER_WORDS, NUMBERS, WORDS

N_ANSWERS = 10
WORD_QUESTIONS: tuple[str, ...] = (
    "what word is written in the image?",
    "what does the text say?",
    "what is written in the picture?",
    "which word is printed on the image?",
)
NUMBER_QUESTIONS: tuple[str, ...] = (
    "what number is written in the image?",
    "what number is shown?",
    "what is written in the picture?",
)


def build_textvqa(scenes: list[Scene], rng: random.Random) -> dict[str, Any]:
    """One question per scene that has printed text."""
    data: list[dict[str, object]] = []
    for scene in scenes:
        if scene.text is None:
            continue
        question = rng.choice(NUMBER_QUESTIONS if scene.text_kind == "number" else WORD_QUESTIONS)
        data.append(
            {
                "question_id": len(data) + 1,
                "question": question,
                "image_id": scene.image_id,
                "image_classes": [*sorted(o.category.capitalize() for o in scene.objects), "Text"],
                "image_width": 64,
                "image_height": 64,
                "answers": annotator_answers(scene.text, rng),
                "question_tokens": question.rstrip("?").split(),
                "set_name": "val",
                "flickr_original_url": "",
                "flickr_300k_url": "",
            }
        )
    return {"dataset_type": "val", "dataset_name": "textvqa", "dataset_version": "0.5.1", "data": data}


def annotator_answers(text: str, rng: random.Random) -> list[str]:
    """Ten answers: at most 3 differ from `text`, and only some of those are wrong."""
    answers = [text] * N_ANSWERS
    n_deviant = rng.choices((0, 1, 2, 3), weights=(3, 4, 2, 1))[0]
    for slot in rng.sample(range(N_ANSWERS), n_deviant):
        answers[slot] = _deviant(text, rng)
    return answers


def _deviant(text: str, rng: random.Random) -> str:
    options: list[tuple[str, float]] = [(text.upper(), 3), (text.capitalize(), 2), ("unanswerable", 1)]
    if text in NUMBER_WORDS:
        options.append((NUMBER_WORDS[text], 3))
    if len(text) >= 2:
        options.append((text[:-1], 1))  # read only partly
    misread = rng.choice([n for n in NUMBERS if n != text]) if text.isdigit() else rng.choice([w for w in WORDS if w != text])
    options.append((misread, 1))
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]
