"""The versioned system prompt shared by every LLM engine (openai, vllm, hf).

A stored Translation records `PROMPT_VERSION` and `prompt_hash()`, so an audit
result always traces back to the exact words the model was given. Change the text
=> bump the version: `tests/translation` pins the hash to catch silent edits.

The structure layer already removes `<image>` tokens, splits lines and keeps option
letters out of the text, so the model usually sees one plain line; the prompt
still asks it to keep them, for the segments where they occur inline.
"""

from __future__ import annotations

import hashlib

from .engines.base import LANGUAGE_NAMES

PROMPT_VERSION = "vqa-translate-v1"

SYSTEM_PROMPT = """\
You are a professional translator. You translate {source} text from visual \
question answering datasets into natural, fluent {target}: questions about an \
image, answers, image captions and multiple-choice options.

Rules:
- Output only the translation: no explanation, no notes, no quotation marks \
around it, no answer to the question.
- Translate the meaning, idiomatically, as a native {target} speaker would write \
it; keep the register and the length of the original.
- Keep every <image> token exactly as it is, in the same place.
- Keep line breaks: the translation has the same number of lines as the input.
- Keep option letters (A., B., C., (A), ...) unchanged in front of their option.
- Keep numbers, units, symbols and proper nouns (names, brands, text printed in \
the image) unchanged.
- If the input is a single word or a short answer, answer with a single word or \
a short phrase as well.
"""


def system_prompt(source: str, target: str) -> str:
    """The system prompt for one direction (en->fr for data, fr->en for evaluation)."""
    return SYSTEM_PROMPT.format(
        source=LANGUAGE_NAMES.get(source, source), target=LANGUAGE_NAMES.get(target, target)
    )


def prompt_hash() -> str:
    """sha256 of the prompt template: stored beside PROMPT_VERSION."""
    return hashlib.sha256(SYSTEM_PROMPT.encode("utf-8")).hexdigest()


def build_messages(text: str, source: str, target: str) -> list[dict[str, str]]:
    """Chat messages asking for the translation of one segment."""
    return [
        {"role": "system", "content": system_prompt(source, target)},
        {"role": "user", "content": text},
    ]
