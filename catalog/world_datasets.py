"""Where each file of the miniature world goes: the dataset name, format and kind.

Shared by the demo set-up, the study runner and the tests, so the world imports one way.
"""

from __future__ import annotations

from pathlib import Path

from .services import ImportResult, import_dataset

# (dataset name, path inside the world directory, importer format)
WORLD_DATASETS: tuple[tuple[str, str, str], ...] = (
    ("world-captions", "llava/blip_laion_cc_sbu_558k.json", "llava"),
    ("world-instruct", "llava/llava_instruct.json", "llava"),
    ("world-scienceqa", "scienceqa/scienceqa_img_test.json", "scienceqa"),
    ("world-textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa"),
    ("world-pope", "pope", "pope"),
)


def import_world(world_dir: str | Path, *, prefix: str = "") -> list[ImportResult]:
    """Import every world dataset (idempotent: a second call writes nothing)."""
    world = Path(world_dir)
    return [
        import_dataset(world / relative, format=fmt, name=prefix + name, images=world / "images")
        for name, relative, fmt in WORLD_DATASETS
    ]
