"""Translation for the translation-only evaluation pipeline (variant 1 of the study).

A French benchmark question goes to English, the English-trained model answers, and
the answer comes back to French. Both directions use the structure rules of
`translation.structure`: `<image>`, line breaks and option letters survive, and a
bare "Yes"/"Oui" or an option letter is mapped or copied, never sent to an engine,
so POPE and ScienceQA answers stay parseable by the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

from .engines.base import Engine
from .structure import translate_texts


def questions_to_english(engine: Engine, texts: Sequence[str], source: str = "fr") -> list[str]:
    """French benchmark questions -> English, in one engine call."""
    return translate_texts(engine, texts, source, "en")


def answers_to_french(engine: Engine, texts: Sequence[str], target: str = "fr") -> list[str]:
    """English model answers -> French, in one engine call."""
    return translate_texts(engine, texts, "en", target)


def question_to_english(engine: Engine, text: str, source: str = "fr") -> str:
    return questions_to_english(engine, [text], source)[0]


def answer_to_french(engine: Engine, text: str, target: str = "fr") -> str:
    return answers_to_french(engine, [text], target)[0]
