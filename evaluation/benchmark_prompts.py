"""How a benchmark item is asked and where its answers are scored (pure Python: no Django).

Prompts follow the references the metrics follow:

- ScienceQA-IMG: lmms-eval's ``doc_to_text`` (``Context: {hint}\\n`` when there is a
  hint, the question, the lettered choices) plus LLaVA's post prompt "Answer with the
  option's letter from the given choices directly." (bench/train_bench.py asks the
  same way);
- TextVQA and POPE: the question plus LLaVA's "\\nAnswer the question using a single
  word or phrase." (model_vqa_loader.py's short-answer prompt).

French runs use a fixed French translation of those suffixes, reviewed by hand and
versioned here (``FRENCH_SUFFIX_VERSION``): a machine translation of the instruction
would change with the engine, and the instruction is what every answer depends on.
The translation pipeline writes the same strings into French training data
(translation.structure.FORMAT_INSTRUCTIONS), so a French model is asked what it learned.
``prompts_record`` is what EvaluationRun.prompts stores, so a result names its prompt.

Items are read with the metrics' own readers (evaluation.metrics.benchmarks), so a file
the scorer would refuse is refused before a run is queued, with the same message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evaluation.metrics.benchmarks import BenchmarkFormatError, read_pope, read_scienceqa, read_textvqa
from translation.structure import FORMAT_INSTRUCTIONS

BENCHMARKS: tuple[str, ...] = ("scienceqa", "textvqa", "pope")
POPE_SPLITS: tuple[str, ...] = ("random", "popular", "adversarial")
LANGUAGES: tuple[str, ...] = ("en", "fr")

# The same fixed strings the translation pipeline writes into French training data.
LETTER_SUFFIX = {language: lines[0] for language, lines in FORMAT_INSTRUCTIONS.items()}
SHORT_SUFFIX = {language: lines[1] for language, lines in FORMAT_INSTRUCTIONS.items()}
CONTEXT_LABEL = {"en": "Context: ", "fr": "Contexte : "}
FRENCH_SUFFIX_VERSION = "fr-suffix-v1"
# As the references generate: lmms-eval's scienceqa_img caps at 16 new tokens, its pope
# task and LLaVA's model_vqa_loader.py (TextVQA, POPE) at 128. A model that answers with a
# word stops at its end token long before; only a rambling one pays for the cap.
DEFAULT_MAX_NEW_TOKENS = {"scienceqa": 16, "textvqa": 128, "pope": 128}


@dataclass(frozen=True)
class BenchItem:
    """One question as the evaluation asks it: enough to prompt, translate and subset."""

    question_id: str
    image: str  # relative to the benchmark's image root
    question: str
    choices: tuple[str, ...] = ()
    hint: str = ""
    subject: str = ""
    category: str = ""


def prompt(benchmark: str, item: BenchItem, language: str) -> str:
    """The text the model sees after the image."""
    if benchmark == "scienceqa":
        context = f"{CONTEXT_LABEL[language]}{item.hint}\n" if item.hint else ""
        choices = "\n".join(f"{chr(ord('A') + i)}. {choice}" for i, choice in enumerate(item.choices))
        return f"{context}{item.question}\n{choices}\n{LETTER_SUFFIX[language]}"
    return f"{item.question}\n{SHORT_SUFFIX[language]}"


def prompts_record(benchmark: str, language: str) -> dict[str, Any]:
    """What the run stores about its prompt: the suffix, and where a French one came from."""
    table = LETTER_SUFFIX if benchmark == "scienceqa" else SHORT_SUFFIX
    record: dict[str, Any] = {"suffix": table[language], "english_suffix": table["en"]}
    if benchmark == "scienceqa":
        record["context_label"] = CONTEXT_LABEL[language]
    if language != "en":
        record["translation"] = {
            "source": "fixed reviewed translation in evaluation/benchmark_prompts.py",
            "version": FRENCH_SUFFIX_VERSION,
        }
    return record


def _textvqa_image(image_id: str, image_root: Path | None) -> str:
    """TextVQA names images by id; the file is id.jpg, .png or .jpeg (as the importer finds it)."""
    if image_root is not None:
        for extension in (".jpg", ".png", ".jpeg"):
            if (image_root / f"{image_id}{extension}").exists():
                return image_id + extension
    return image_id + ".jpg"


def read_items(benchmark: str, path: Path, *, split: str = "", image_root: Path | None = None) -> list[BenchItem]:
    """The benchmark's questions in file order; POPE keeps `split` only when records name it.

    Raises BenchmarkFormatError naming the file, record and field (the readers' own).
    """
    if benchmark == "scienceqa":
        return [
            BenchItem(i.id, i.image or "", i.question, i.choices, i.hint, i.subject, i.category)
            for i in read_scienceqa(path)
        ]
    if benchmark == "textvqa":
        return [BenchItem(i.question_id, _textvqa_image(i.image_id, image_root), i.question) for i in read_textvqa(path)]
    if benchmark == "pope":
        items = read_pope(path)
        if split and any(i.category for i in items):
            items = [i for i in items if i.category == split]
        return [BenchItem(i.question_id, i.image, i.text, category=i.category) for i in items]
    raise BenchmarkFormatError(f"unknown benchmark {benchmark!r}; expected one of {', '.join(BENCHMARKS)}")


def write_references(benchmark: str, source: Path, question_ids: Sequence[str], target: Path) -> Path:
    """The source file cut down to `question_ids`, in the benchmark's own format.

    score_files wants predictions for exactly the file's questions; a run over a limit,
    or over one split of a merged POPE file, is scored against this subset.
    """
    keep = {str(qid) for qid in question_ids}
    target.parent.mkdir(parents=True, exist_ok=True)
    if benchmark == "pope":
        lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [line for line in lines if str(json.loads(line)["question_id"]) in keep]
        target.write_text("\n".join(kept) + "\n", encoding="utf-8")
        return target
    data = json.loads(source.read_text(encoding="utf-8"))
    if benchmark == "textvqa":
        data = {**data, "data": [r for r in data["data"] if str(r["question_id"]) in keep]}
    elif isinstance(data, dict):  # ScienceQA's problems.json, keyed by id
        data = [{"id": key, **value} for key, value in data.items() if key in keep]
    else:
        data = [r for r in data if str(r["id"]) in keep]
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def english_texts(benchmark: str, items: Sequence[BenchItem]) -> list[str]:
    """Every string of the items a translation-only run sends to English, flattened."""
    texts: list[str] = []
    for item in items:
        texts.append(item.question)
        if benchmark == "scienceqa":
            texts.extend(item.choices)
            if item.hint:
                texts.append(item.hint)
    return texts


def with_english(benchmark: str, items: Sequence[BenchItem], translated: Sequence[str]) -> list[BenchItem]:
    """The items rebuilt from `english_texts`'s translations, in the same order."""
    out, position = [], 0
    for item in items:
        question = translated[position]
        position += 1
        if benchmark == "scienceqa":
            choices = tuple(translated[position : position + len(item.choices)])
            position += len(item.choices)
            hint = translated[position] if item.hint else ""
            position += 1 if item.hint else 0
            out.append(replace(item, question=question, choices=choices, hint=hint))
        else:
            out.append(replace(item, question=question))
    if position != len(translated):
        raise ValueError(f"expected {position} translations, got {len(translated)}")
    return out
