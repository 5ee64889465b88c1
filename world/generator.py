"""Generating a whole miniature world into a directory: the one entry point.

Each part of the world draws from its own random stream, derived from the seed and
the part's name, so the same seed and size always give byte-identical files, and a
change to one part (say, the ScienceQA writer) leaves the others' files unchanged.
Train images (captions, instruction QA) and eval images (the three benchmarks) are
disjoint, so benchmark scores measure generalisation, not memory.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from world import corpus, drawing
from world.captions import caption_records
from world.conversation_formats import to_llava, to_monkey
from world.instruct import build_instruct
from world.pope import SPLITS, ObjectStatistics, build_pope, pope_images
from world.questions import YesNoBalancer
from world.scene import sample_scenes
from world.scienceqa import build_scienceqa
from world.textvqa import build_textvqa

GENERATOR_VERSION = 3  # 2: categories with a look of their own, readable text, ordered choices; 3: the mix that teaches presence, 20-pixel text
TRAIN_TEXT_SHARE = 0.3
EVAL_TEXT_SHARE = 0.5  # higher on eval images so TextVQA gets enough questions

FILES: dict[str, str] = {
    "images": "images",
    "scenes": "scenes.json",
    "captions": "llava/blip_laion_cc_sbu_558k.json",
    "instruct": "llava/llava_instruct.json",
    "monkey": "monkey/monkey_instruct.json",
    "scienceqa": "scienceqa/scienceqa_img_test.json",
    "textvqa": "textvqa/TextVQA_0.5.1_val.json",
    "pope_random": "pope/coco_pope_random.json",
    "pope_popular": "pope/coco_pope_popular.json",
    "pope_adversarial": "pope/coco_pope_adversarial.json",
    "corpus": "corpus/english.txt",
}
_IMAGE_NAME = re.compile(r"^\d{6}\.png$")


@dataclass(frozen=True)
class SizeSpec:
    """How much of everything one size makes."""

    train_images: int
    eval_images: int
    instruct_per_image: int
    scienceqa: int
    pope_images: int  # x 6 questions per split


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(train_images=70, eval_images=80, instruct_per_image=6, scienceqa=50, pope_images=10),
    "full": SizeSpec(train_images=5000, eval_images=1200, instruct_per_image=6, scienceqa=600, pope_images=120),
}


def generate_world(
    out_dir: str | Path,
    seed: int = 0,
    size: str = "small",
    yes_share: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the world under `out_dir` and return its manifest (also manifest.json).

    `yes_share` is the share of "Yes" answers among the instruction yes/no questions
    (benchmarks stay balanced). Raises ValueError for an unknown size, a share outside
    [0, 1], or an `out_dir` holding something other than a previously generated world.
    """
    spec = _check_arguments(seed, size, yes_share)
    out = Path(out_dir)
    say = progress or (lambda message: None)
    _prepare(out)

    def stream(name: str) -> random.Random:
        return random.Random(f"{seed}:{name}")

    train = sample_scenes(stream("train-scenes"), 0, spec.train_images, "train", TRAIN_TEXT_SHARE)
    evaluation = sample_scenes(stream("eval-scenes"), spec.train_images, spec.eval_images, "eval", EVAL_TEXT_SHARE)
    scenes = train + evaluation
    say(f"sampled {len(scenes)} scenes ({len(train)} train, {len(evaluation)} eval)")

    images_dir = out / FILES["images"]
    _remove_stale_images(images_dir, {s.file_name for s in scenes})
    for scene in scenes:
        drawing.save(scene, images_dir)
    say(f"drew {len(scenes)} images")

    captions = caption_records(train, stream("captions"))
    balancer = YesNoBalancer(yes_share, stream("yes-no"))
    instruct = build_instruct(train, spec.instruct_per_image, stream("instruct"), balancer)
    llava = [to_llava(r) for r in instruct]
    say(f"wrote {len(captions)} captions and {len(instruct)} instruction records")

    scienceqa = build_scienceqa(evaluation, spec.scienceqa, stream("scienceqa"))
    textvqa = build_textvqa(evaluation, stream("textvqa"))
    pope = build_pope(
        pope_images(evaluation, spec.pope_images, stream("pope-images")), ObjectStatistics(scenes), stream("pope")
    )
    n_pope = len(pope["random"])
    say(f"wrote benchmarks: {len(scienceqa)} ScienceQA, {len(textvqa['data'])} TextVQA, {n_pope} POPE per split")

    lines = list(
        corpus.sentences(
            [
                *corpus.llava_texts(captions),
                *corpus.llava_texts(llava),
                *corpus.scienceqa_texts(scienceqa),
                *corpus.textvqa_texts(textvqa),
                *(t for split in SPLITS for t in corpus.pope_texts(pope[split])),
            ]
        )
    )

    _write_json(out / FILES["scenes"], [s.to_dict() for s in scenes])
    _write_json(out / FILES["captions"], captions)
    _write_json(out / FILES["instruct"], llava)
    _write_json(out / FILES["monkey"], [to_monkey(r) for r in instruct])
    _write_json(out / FILES["scienceqa"], scienceqa)
    _write_json(out / FILES["textvqa"], textvqa)
    for split in SPLITS:
        _write_json_lines(out / FILES[f"pope_{split}"], pope[split])
    _write_text(out / FILES["corpus"], "".join(line + "\n" for line in lines))

    counts = {
        "images": len(scenes),
        "train_images": len(train),
        "eval_images": len(evaluation),
        "scenes": len(scenes),
        "captions": len(captions),
        "instruct": len(instruct),
        "monkey": len(instruct),
        "instruct_yes_no": balancer.total,
        "instruct_yes": balancer.yes,
        "scienceqa": len(scienceqa),
        "textvqa": len(textvqa["data"]),
        **{f"pope_{split}": len(pope[split]) for split in SPLITS},
        "corpus": len(lines),
    }
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "size": size,
        "yes_share": yes_share,
        "image_root": FILES["images"],
        "files": dict(FILES),
        "counts": counts,
    }
    _write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    say(f"world written to {out}")
    return manifest


def _check_arguments(seed: int, size: str, yes_share: float) -> SizeSpec:
    if size not in SIZES:
        raise ValueError(f"unknown world size {size!r}: choose one of {', '.join(sorted(SIZES))}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")  # noqa: TRY004 (API: ValueError for any bad argument)
    if isinstance(yes_share, bool) or not isinstance(yes_share, (int, float)) or not 0.0 <= yes_share <= 1.0:
        raise ValueError(f"yes_share must be a number between 0 and 1 (the share of 'Yes' answers), got {yes_share!r}")
    return SIZES[size]


def _prepare(out: Path) -> None:
    """Refuse to write into a directory that holds anything but a generated world."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a directory")
    if out.is_dir() and not (out / "manifest.json").exists():
        visible = [p.name for p in out.iterdir() if not p.name.startswith(".")]
        if visible:
            raise ValueError(
                f"output directory {out} is not empty and holds no generated world (no manifest.json); "
                f"choose an empty or new directory (found e.g. {min(visible)!r})"
            )
    for relative in FILES.values():
        target = out / relative
        (target if relative == FILES["images"] else target.parent).mkdir(parents=True, exist_ok=True)


def _remove_stale_images(images_dir: Path, keep: set[str]) -> None:
    """Regenerating a smaller world over a bigger one must not leave its images behind."""
    for path in images_dir.iterdir():
        if _IMAGE_NAME.match(path.name) and path.name not in keep:
            path.unlink()


def _write_json(path: Path, data: object) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False) + "\n")


def _write_json_lines(path: Path, rows: list[dict[str, object]]) -> None:
    _write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))  # bytes: "\n" line ends on every platform
