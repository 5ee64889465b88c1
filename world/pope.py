"""POPE (object-hallucination) benchmark: "Is there a <object> in the image?" yes/no,
in the three negative-sampling splits of the paper, as JSON lines like coco_pope_*.json.

An object is a colour+shape ("red circle"). Every split uses the same images and the
same positives (the objects present); only the negatives differ:
- random: any absent object;
- popular: the absent objects most frequent in the whole world;
- adversarial: the absent objects that co-occur most with this image's objects.
Labels are balanced 50/50 and alternate yes/no, as in the real files.
"""

from __future__ import annotations

import random
from collections import Counter

from world.scene import Scene
from world.vocabulary import all_object_names, article

SPLITS: tuple[str, ...] = ("random", "popular", "adversarial")
PER_IMAGE = 3  # positives per image (and as many negatives), as in POPE


class ObjectStatistics:
    """How often each object appears (in images) and how often two appear together."""

    def __init__(self, scenes: list[Scene]) -> None:
        self.frequency: Counter[str] = Counter()
        self.cooccurrence: dict[str, Counter[str]] = {name: Counter() for name in all_object_names()}
        for scene in scenes:
            names = scene.object_names()
            self.frequency.update(names)
            for a in names:
                self.cooccurrence[a].update(b for b in names if b != a)

    def by_popularity(self) -> list[str]:
        return sorted(all_object_names(), key=lambda n: (-self.frequency[n], n))

    def by_cooccurrence(self, present: set[str]) -> list[str]:
        """All objects, most co-occurring with `present` first (ties: more frequent)."""
        score = {n: sum(self.cooccurrence[p][n] for p in present) for n in all_object_names()}
        return sorted(all_object_names(), key=lambda n: (-score[n], -self.frequency[n], n))


def pope_images(scenes: list[Scene], count: int, rng: random.Random) -> list[Scene]:
    """Images with 3 distinct objects (POPE keeps images with at least 3), topped up
    with 2-object images only if there are not enough; returned in id order."""
    full = [s for s in scenes if len(s.object_names()) >= PER_IMAGE]
    chosen = rng.sample(full, min(count, len(full)))
    if len(chosen) < count:
        pairs = [s for s in scenes if len(s.object_names()) == 2]
        chosen += rng.sample(pairs, min(count - len(chosen), len(pairs)))
    return sorted(chosen, key=lambda s: s.image_id)


def build_pope(images: list[Scene], stats: ObjectStatistics, rng: random.Random) -> dict[str, list[dict[str, object]]]:
    """The three splits over the same images: {"random": [...], "popular": [...], ...}."""
    popular = stats.by_popularity()
    splits: dict[str, list[dict[str, object]]] = {}
    for split in SPLITS:
        questions: list[dict[str, object]] = []
        for scene in images:
            present = scene.object_names()
            positives = sorted(present)[:PER_IMAGE]
            if split == "random":
                absent = [n for n in all_object_names() if n not in present]
                negatives = rng.sample(absent, len(positives))
            elif split == "popular":
                negatives = [n for n in popular if n not in present][: len(positives)]
            else:
                negatives = [n for n in stats.by_cooccurrence(present) if n not in present][: len(positives)]
            for positive, negative in zip(positives, negatives, strict=True):
                for name, label in ((positive, "yes"), (negative, "no")):
                    questions.append(
                        {
                            "question_id": len(questions) + 1,
                            "image": scene.file_name,
                            "text": f"Is there {article(name)} {name} in the image?",
                            "label": label,
                        }
                    )
        splits[split] = questions
    return splits
