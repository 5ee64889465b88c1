"""The one engine interface every translation backend implements.

Callers (the structure layer, the Celery tasks, the evaluation pipeline) only ever
see `Engine.translate(texts, source, target) -> BatchResult`, so adding a backend
never touches them. The base class owns the rules that must not differ between
backends: empty strings never reach a backend, a segment over
`max_segment_chars` is refused before any work starts, the output list has the
input's length and order, and wall-clock time is measured the same way.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .options import Option

LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "French", "es": "Spanish"}


class EngineError(RuntimeError):
    """A translation failed for good (after the engine's own retries)."""


class EngineUnavailable(EngineError):
    """The engine cannot run here: not installed, pair missing, server down.

    The message always says which piece is missing and how to fix it, because it
    ends up on the admin's job page, read by someone who did not write this code.
    """


class SegmentTooLong(ValueError):
    """A segment is longer than the engine accepts; split it before calling."""


@dataclass
class Usage:
    """What a batch cost. Token counts are None when the backend cannot tell."""

    seconds: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    requests: int = 0
    retries: int = 0
    # Words the engine itself knows it left untranslated, per input segment and language
    # ({"Is there a purple circle?": {"es": ("morado",)}}): apertium's unknown-word marks.
    # None when the engine cannot tell (the checks then fall back to word lists). It rides
    # on the usage because the usage is what travels with a batch to its items.
    left_words: dict[str, dict[str, tuple[str, ...]]] | None = None

    def add_tokens(self, prompt: int | None, completion: int | None) -> None:
        if prompt is not None:
            self.prompt_tokens = (self.prompt_tokens or 0) + prompt
        if completion is not None:
            self.completion_tokens = (self.completion_tokens or 0) + completion


@dataclass
class BatchResult:
    """Outputs in input order, plus the batch's usage."""

    outputs: list[str]
    usage: Usage = field(default_factory=Usage)


class Engine(abc.ABC):
    """A translation backend. Subclasses implement `_translate_batch` only.

    `device` routes jobs: "cuda" engines run on the Celery queue `gpu`.
    `prompt_version` is None for engines without a prompt (apertium, Marian).
    """

    name: ClassVar[str] = ""
    model: str = ""
    prompt_version: str | None = None
    max_segment_chars: int = 4000
    device: str = "cpu"
    batch_size: int = 64  # items per job batch: what a killed worker may lose
    # Batches a job may have in the engine at once. 1 for a model on one device (and for
    # servers, which batch requests themselves); apertium overrides it.
    concurrent_batches: int = 1
    # What a job request may set (translation/engines/options.py); every other
    # constructor argument is for trusted callers and settings only.
    request_options: ClassVar[tuple[Option, ...]] = ()
    # True when `model` is a directory the worker loads: a job may only name one under MODEL_ROOT.
    local_model: ClassVar[bool] = False

    def translate(self, texts: list[str], source: str, target: str) -> BatchResult:
        """Translate `texts` from `source` to `target` (ISO 639-1 codes)."""
        texts = list(texts)
        for index, text in enumerate(texts):
            if len(text) > self.max_segment_chars:
                raise SegmentTooLong(
                    f"segment {index} has {len(text)} characters; {self.name} accepts at "
                    f"most {self.max_segment_chars}: split it at sentence boundaries first"
                )
        # Whitespace-only strings stay as they are: no backend call, no cost.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        outputs = list(texts)
        started = time.perf_counter()
        if todo:
            result = self._translate_batch([texts[i] for i in todo], source, target)
            if len(result.outputs) != len(todo):
                raise EngineError(
                    f"{self.name} returned {len(result.outputs)} outputs for {len(todo)} inputs"
                )
            for i, output in zip(todo, result.outputs):
                outputs[i] = output
            usage = result.usage
        else:
            usage = Usage()
        usage.seconds = time.perf_counter() - started
        return BatchResult(outputs=outputs, usage=usage)

    @abc.abstractmethod
    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        """Translate non-empty texts; return exactly one output per input, in order."""

    def close(self) -> None:
        """Release what the engine holds between batches (processes, connections); a job
        calls it when it ends. The engine may be used again after: it starts them anew."""

    def describe(self) -> dict[str, Any]:
        """What a stored Translation records about the engine that made it."""
        return {
            "engine": self.name,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "device": self.device,
            "parameters": self.parameters(),
        }

    def parameters(self) -> dict[str, Any]:
        """Sampling parameters worth storing with a translation (override)."""
        return {}
