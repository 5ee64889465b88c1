"""Batched greedy answers for evaluation: (image, question) pairs -> answer strings.

Prompts are rendered with the same chat template the collator trains on, up to
"ASSISTANT:", so the model continues exactly where it learned to answer. Left
padding keeps every prompt's last token at the end of the batch, which is where
`generate` appends new tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from training.data import DataFormatError, image_token_count, user_text_with_image


def _prompt(processor: Any, question: str, image_tokens: int) -> str:
    text = user_text_with_image(question).replace("<image>", "<image>" * image_tokens, 1)
    return str(
        processor.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    )


def _image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as error:
        raise DataFormatError(f"cannot read image {path}: {error}") from error


@torch.inference_mode()
def generate_answers(
    model: Any,
    processor: Any,
    items: Sequence[tuple[str | Path, str]],
    *,
    max_new_tokens: int = 16,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Greedy answers, one per (image_path, question), stripped of the template's markers."""
    tokenizer = processor.tokenizer
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    image_tokens = image_token_count(processor)
    was_training = model.training
    model.eval()
    answers: list[str] = []
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            prompts = [_prompt(processor, question, image_tokens) for _, question in chunk]
            encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            pixels = processor.image_processor([_image(Path(path)) for path, _ in chunk], return_tensors="pt")
            output = model.generate(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=encoded["attention_mask"].to(device),
                pixel_values=pixels["pixel_values"].to(device, dtype),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            answers += [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
            if progress:
                progress(len(answers), len(items))
    finally:
        tokenizer.padding_side = previous_side
        model.train(was_training)
    return answers
