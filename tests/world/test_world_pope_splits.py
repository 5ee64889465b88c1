"""POPE's three splits share images and positives but draw negatives differently:
random (any absent object), popular (globally frequent), adversarial (co-occurring)."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from world_readers import read_json_lines

from world.vocabulary import all_object_names


def split(world_dir: Path, name: str) -> list[dict[str, Any]]:
    return read_json_lines(world_dir / f"pope/coco_pope_{name}.json")


def object_of(question: dict[str, Any]) -> str:
    text = str(question["text"]).removesuffix(" in the image?")
    return text.removeprefix("Is there an ").removeprefix("Is there a ")


def present(scene: dict[str, Any]) -> set[str]:
    return {o["category"] for o in scene["objects"]}


@pytest.fixture(scope="module")
def frequency(scenes: dict[str, Any]) -> Counter[str]:
    return Counter(name for scene in scenes.values() for name in present(scene))


@pytest.fixture(scope="module")
def cooccurrence(scenes: dict[str, Any]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for scene in scenes.values():
        for a, b in combinations(sorted(present(scene)), 2):
            counts[(a, b)] += 1
            counts[(b, a)] += 1
    return counts


def test_all_splits_share_images_and_positives(world_dir: Path) -> None:
    splits = [split(world_dir, n) for n in ("random", "popular", "adversarial")]
    positives = [[(q["image"], q["text"]) for q in s if q["label"] == "yes"] for s in splits]
    assert positives[0] == positives[1] == positives[2]
    negatives = [{(q["image"], q["text"]) for q in s if q["label"] == "no"} for s in splits]
    assert negatives[0] != negatives[1] != negatives[2] != negatives[0]


def test_popular_negatives_are_the_most_frequent_absent_objects(
    world_dir: Path, scenes: dict[str, Any], frequency: Counter[str]
) -> None:
    ranking = [name for name, _ in frequency.most_common()]
    top_six = {name for name, _ in frequency.most_common(6)}  # at most 3 are present in an image
    for q in split(world_dir, "popular"):
        if q["label"] == "no":
            assert object_of(q) in top_six, q
            absent = [n for n in ranking if n not in present(scenes[q["image"]])]
            assert frequency[object_of(q)] >= frequency[absent[3]]
    popular = Counter(object_of(q) for q in split(world_dir, "popular") if q["label"] == "no")
    random_ = Counter(object_of(q) for q in split(world_dir, "random") if q["label"] == "no")
    assert len(popular) < len(random_)  # popular keeps asking about the same few objects


def test_adversarial_negatives_co_occur_most_with_the_image_objects(
    world_dir: Path, scenes: dict[str, Any], cooccurrence: Counter[tuple[str, str]]
) -> None:
    everything = set(all_object_names())
    by_image: dict[str, list[str]] = {}
    for q in split(world_dir, "adversarial"):
        if q["label"] == "no":
            by_image.setdefault(q["image"], []).append(object_of(q))
    for image, negatives in by_image.items():
        shown = present(scenes[image])
        score = {name: sum(cooccurrence[(p, name)] for p in shown) for name in everything}
        left_out = everything - shown - set(negatives)
        assert min(score[n] for n in negatives) >= max(score[n] for n in left_out)


def test_random_negatives_spread_over_many_objects(world_dir: Path) -> None:
    negatives = {object_of(q) for q in split(world_dir, "random") if q["label"] == "no"}
    assert len(negatives) >= 6  # of the 8 categories
