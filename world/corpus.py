"""The world's English text, one sentence per line, for training a tokenizer.

Everything a model will read or write is in it (captions, requests, questions,
answers, choices, hints, lectures, benchmark questions), with repetitions kept:
a BPE trainer learns merges from frequencies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(texts: Iterable[str]) -> Iterator[str]:
    """Split texts into sentences, drop the "<image>" marker and empty lines."""
    for text in texts:
        text = text.replace("<image>", " ")
        for line in text.splitlines():
            for sentence in _SENTENCE_END.split(line.strip()):
                if sentence:
                    yield sentence


def llava_texts(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        for turn in record["conversations"]:
            yield turn["value"]


def scienceqa_texts(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield str(record["question"])
        yield from record["choices"]
        for field in ("hint", "lecture", "solution"):
            yield str(record[field])


def textvqa_texts(dataset: dict[str, Any]) -> Iterator[str]:
    for entry in dataset["data"]:
        yield entry["question"]
        yield from entry["answers"]


def pope_texts(questions: Iterable[dict[str, Any]]) -> Iterator[str]:
    for question in questions:
        yield str(question["text"])
