"""Helpers for the training job tests: a tiny English LLaVA dataset with real images on disk,
users per role, and small-job settings (a few steps, batch 4) that run in seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from catalog.models import Dataset

COLOURS = ("red", "green", "blue", "yellow")
SMALL = {"max_steps": 3, "batch_size": 4}  # per stage; the tiny templates have two stages


def write_images(root: Path, n: int = 4) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (64, 64), COLOURS[i % len(COLOURS)]).save(root / f"img{i}.png")


def english_dataset(root: Path, *, name: str = "en-mini", n: int = 16, missing: int = 0) -> Dataset:
    """n records over img0..img3.png under `root`; the last `missing` records point at absent images."""
    write_images(root)
    records = []
    for i in range(n):
        image = f"gone{i}.png" if i >= n - missing else f"img{i % 4}.png"
        colour = COLOURS[i % 4]
        records.append({
            "id": f"{name}-{i}", "image": image,
            "conversations": [{"from": "human", "value": f"<image>\nWhat colour is the image? ({i})"},
                              {"from": "gpt", "value": f"It is {colour}."}],
        })  # fmt: skip
    source = root / f"{name}.json"
    source.write_text(json.dumps(records))
    return Dataset.objects.create(
        name=name, kind="train", source_format="llava", image_root=str(root), source_path=str(source)
    )
