"""LLaVA conversation files as model inputs: the dataset and the collator.

Records are read exactly as LLaVA's loader reads them (and as our snapshots export
them): {"id", "image", "conversations": [{"from": "human"|"gpt", "value"}]}. The
collator renders each conversation with the processor's chat template, expands
`<image>` to the vision tower's patch count and learns only the assistant's answers:
prompts, image tokens and padding get label -100, like LLaVA's `preprocess`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

IGNORE_INDEX = -100  # torch's cross_entropy default ignore_index
ROLES = {"human": "user", "gpt": "assistant"}


class DataFormatError(ValueError):
    """A conversation file or record is not in LLaVA's format, or its image is missing."""


def _check_record(record: Any, where: str, absolute_images: bool = False) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if not isinstance(record.get("image"), str) or not record["image"]:
        raise DataFormatError(f"{where}: field 'image' is missing or empty (text-only records are not supported)")
    image = Path(record["image"])
    if not absolute_images and (image.is_absolute() or ".." in image.parts):
        raise DataFormatError(f"{where}: field 'image' {record['image']!r} must be relative to the image root")
    turns = record.get("conversations")
    if not isinstance(turns, list) or not turns or len(turns) % 2:
        raise DataFormatError(f"{where}: 'conversations' must be a non-empty list of human/gpt pairs")
    for position, turn in enumerate(turns):
        expected = "human" if position % 2 == 0 else "gpt"
        if not isinstance(turn, dict) or turn.get("from") != expected or not isinstance(turn.get("value"), str):
            raise DataFormatError(
                f"{where}: conversations[{position}] should be {{'from': {expected!r}, 'value': str}}, got {turn!r}"
            )
    return record


class ConversationDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """The records of one LLaVA JSON file, checked up front so training never fails mid-way.

    `image_root` is where the records' relative image paths start (LLaVA's
    `image_folder`); the collator reads images from it.
    """

    def __init__(
        self, records: Sequence[dict[str, Any]], image_root: Path, source: str = "<records>", *, _combined: bool = False
    ) -> None:
        if not records:
            raise DataFormatError(f"{source}: no records to train on")
        # Only `combine` may hand over absolute image paths, each checked against its own root.
        self.records = [
            _check_record(r, f"{source}: record {i} (id {_id(r)!r})", _combined) for i, r in enumerate(records)
        ]
        self.image_root = Path(image_root)
        self.source = source

    @classmethod
    def from_json(cls, path: Path, image_root: Path) -> ConversationDataset:
        path = Path(path)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise DataFormatError(f"{path}: cannot read a JSON list of records: {error}") from error
        if not isinstance(records, list):
            raise DataFormatError(f"{path}: expected a JSON list of records, got {type(records).__name__}")
        return cls(records, image_root, source=str(path))

    @classmethod
    def combine(cls, datasets: Sequence[ConversationDataset]) -> ConversationDataset:
        """One dataset from several (a stage mixing data roles), in the given order.

        Records from a dataset whose image root differs from the first one's get
        absolute image paths (symlinks followed, refused if outside their own root),
        which the collator reads as they are.
        """
        if not datasets:
            raise DataFormatError("no datasets to combine")
        root = datasets[0].image_root
        records = []
        for dataset in datasets:
            if dataset.image_root == root:
                records += dataset.records
            else:
                records += [{**r, "image": str(image_path(dataset.image_root, r))} for r in dataset.records]
        return cls(records, root, source=" + ".join(dataset.source for dataset in datasets), _combined=True)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.records[index]


def _id(record: Any) -> Any:
    return record.get("id") if isinstance(record, dict) else None


def image_token_count(processor: Any) -> int:
    """How many `<image>` positions one image takes (LlavaProcessor.replace_image_token)."""
    size = processor.image_processor.size
    count = (size["height"] // processor.patch_size) * (size["width"] // processor.patch_size)
    count += processor.num_additional_image_tokens
    return count - 1 if processor.vision_feature_select_strategy == "default" else count


def user_text_with_image(text: str) -> str:
    """LLaVA's placement: one `<image>` first, then the question (translations move it)."""
    return "<image>\n" + text.replace("<image>", "").strip()


def image_path(image_root: Path, record: dict[str, Any]) -> Path:
    """The file a record's relative image names, symlinks followed; refused if it leaves the root.

    The importer refuses such images already (catalog/importers/base.py); this is the
    loader's own check, for records that reached training another way.
    """
    relative = Path(record["image"])
    if relative.is_absolute():
        return relative  # only `combine` makes these, through this function
    root = Path(image_root).resolve()
    path = root / relative
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise DataFormatError(f"record {_id(record)!r}: image not found: {path}") from None
    except (OSError, RuntimeError) as error:  # a symlink loop, a permission
        raise DataFormatError(f"record {_id(record)!r}: cannot read image {path}: {error}") from error
    if not resolved.is_relative_to(root):
        raise DataFormatError(
            f"record {_id(record)!r}: image {record['image']!r} resolves to {resolved}, outside the image root {root}"
        )
    return resolved


def load_image(image_root: Path, record: dict[str, Any]) -> Image.Image:
    path = image_path(image_root, record)
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise DataFormatError(f"record {_id(record)!r}: image not found: {path}") from None
    except OSError as error:
        raise DataFormatError(f"record {_id(record)!r}: cannot read image {path}: {error}") from error


class ConversationCollator:
    """Records -> {input_ids, attention_mask, pixel_values, labels}, right-padded.

    `max_length` truncates long conversations from the end (LLaVA's model_max_length);
    a conversation whose image tokens would be cut is an error naming the record.
    """

    def __init__(self, processor: Any, image_root: Path, max_length: int | None = None) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.image_root = Path(image_root)
        self.max_length = max_length
        self.image_tokens = image_token_count(processor)
        self.image_token_id = processor.image_token_id

    def messages(self, record: dict[str, Any]) -> list[dict[str, str]]:
        messages = []
        for position, turn in enumerate(record["conversations"]):
            text = turn["value"]
            if position == 0:
                text = user_text_with_image(text).replace("<image>", "<image>" * self.image_tokens, 1)
            messages.append({"role": ROLES[turn["from"]], "content": text})
        return messages

    def __call__(self, records: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer.apply_chat_template(
            [self.messages(record) for record in records],
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        rows = []
        for record, ids, learned in zip(records, encoded["input_ids"], encoded["assistant_masks"], strict=True):
            if self.max_length is not None:
                ids, learned = ids[: self.max_length], learned[: self.max_length]
            if ids.count(self.image_token_id) != self.image_tokens:
                raise DataFormatError(
                    f"record {_id(record)!r}: its {self.image_tokens} image tokens do not fit in "
                    f"max_length {self.max_length} (or the text itself contains '<image>')"
                )
            labels = [token if keep else IGNORE_INDEX for token, keep in zip(ids, learned, strict=True)]
            rows.append((ids, labels))
        width = max(len(ids) for ids, _ in rows)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, (ids, learned_labels) in enumerate(rows):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(ids)] = torch.tensor(learned_labels)
            attention_mask[row, : len(ids)] = 1
        images = [load_image(self.image_root, record) for record in records]
        pixel_values = self.processor.image_processor(images, return_tensors="pt")["pixel_values"]
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "pixel_values": pixel_values,
            "labels": labels,
        }
