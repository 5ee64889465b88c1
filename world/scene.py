"""The scene model: what is in each image, as data.

Every file of the world (images, captions, QA, benchmarks) is derived from these
scene descriptions, never from pixels, so answers are correct by construction. The
geometry (centre, radius, exact colour, text anchor) is decided here too, so drawing
is a pure function of the scene and the same seed always gives the same picture.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from world.vocabulary import (
    BY_NAME,
    CATEGORY_NAMES,
    CATEGORY_WEIGHTS,
    COLOUR_RGB,
    NUMBERS,
    POSITION_PHRASES,
    POSITIONS,
    SIZES,
    WORDS,
    companion,
)

IMAGE_SIZE = 64
SLOT_CENTRES: dict[str, tuple[int, int]] = {
    "left": (11, 32),
    "right": (53, 32),
    "top": (32, 11),
    "bottom": (32, 53),
    "centre": (32, 32),
}
# Radius and allowed jitter per size: a big shape fills its 21-pixel slot, a small one
# moves a little inside it (big enough to be seen: 5 pixels was not); neither ever touches a neighbouring slot or the text band.
RADIUS: dict[str, int] = {"big": 10, "small": 7}
JITTER: dict[str, int] = {"big": 0, "small": 2}
TEXT_CENTRE_Y: dict[str, int] = {"top": 10, "bottom": 52}
COUNT_WEIGHTS: tuple[float, ...] = (0.25, 0.35, 0.40)  # 1, 2, 3 shapes
COMPANION_RATE = 0.5  # chance that the next shape is the previous one's companion
NUMBER_SHARE = 0.3  # share of printed texts that are numbers rather than words


@dataclass(frozen=True)
class ShapeObject:
    """One drawn object: its meaning (category, hence shape and colour; size, position)
    and its geometry."""

    category: str
    shape: str
    colour: str
    size: str
    position: str
    cx: int
    cy: int
    radius: int
    rgb: tuple[int, int, int]

    @property
    def name(self) -> str:
        """The object as POPE names it: its category, e.g. "plum"."""
        return self.category


@dataclass(frozen=True)
class Scene:
    """One image: its id, split (train images never appear in benchmarks) and content."""

    image_id: str
    split: str
    objects: tuple[ShapeObject, ...]
    text: str | None = None
    text_kind: str | None = None  # "word" or "number"
    text_position: str | None = None  # "top" or "bottom"
    text_centre: tuple[int, int] | None = None

    @property
    def file_name(self) -> str:
        return f"{self.image_id}.png"

    def object_names(self) -> set[str]:
        """Categories present (the POPE ground truth; an image never holds one twice)."""
        return {o.name for o in self.objects}

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["file_name"] = self.file_name
        return data


def sample_scenes(rng: random.Random, first_index: int, count: int, split: str, text_share: float) -> list[Scene]:
    """Sample `count` scenes numbered from `first_index` (ids are 6-digit strings)."""
    return [sample_scene(rng, f"{first_index + i:06d}", split, text_share) for i in range(count)]


def sample_scene(rng: random.Random, image_id: str, split: str, text_share: float) -> Scene:
    """One random scene: 1-3 objects of distinct categories in distinct slots, and
    sometimes a printed text.

    Objects after the first follow their predecessor's companion half of the time, so
    some pairs co-occur far more than their frequencies predict.
    """
    n_objects = rng.choices((1, 2, 3), weights=COUNT_WEIGHTS)[0]
    has_text = rng.random() < text_share
    slots = list(POSITIONS)
    text_position: str | None = None
    if has_text:
        text_position = rng.choice(("top", "bottom"))
        slots.remove(text_position)
    objects: list[ShapeObject] = []
    for position in rng.sample(slots, n_objects):
        taken = {o.category for o in objects}
        name = companion(objects[-1].category) if objects and rng.random() < COMPANION_RATE else None
        while name is None or name in taken:
            name = rng.choices(CATEGORY_NAMES, weights=CATEGORY_WEIGHTS)[0]
        objects.append(_place(rng, name, rng.choice(SIZES), position))
    if text_position is None:
        return Scene(image_id=image_id, split=split, objects=tuple(objects))
    if rng.random() < NUMBER_SHARE:
        text, kind = rng.choice(NUMBERS), "number"
    else:
        text, kind = rng.choice(WORDS), "word"
    centre = (IMAGE_SIZE // 2 + rng.randint(-8, 8), TEXT_CENTRE_Y[text_position])
    return Scene(image_id, split, tuple(objects), text, kind, text_position, centre)


def _place(rng: random.Random, name: str, size: str, position: str) -> ShapeObject:
    x, y = SLOT_CENTRES[position]
    j = JITTER[size]
    category = BY_NAME[name]
    rgb = tuple(max(0, min(255, c + rng.randint(-12, 12))) for c in COLOUR_RGB[category.colour])
    return ShapeObject(
        category=name,
        shape=category.shape,
        colour=category.colour,
        size=size,
        position=position,
        cx=x + rng.randint(-j, j),
        cy=y + rng.randint(-j, j),
        radius=RADIUS[size],
        rgb=(rgb[0], rgb[1], rgb[2]),
    )


# --- referring expressions -------------------------------------------------------

_DESCRIPTORS: tuple[tuple[str, ...], ...] = (
    ("category",),
    ("shape",),
    ("size", "shape"),
    ("shape", "position"),
)


def refer(scene: Scene, target: ShapeObject, *, without: Sequence[str] = ()) -> str | None:
    """The shortest noun phrase that picks out `target` alone, without article.

    `without` names attributes the phrase must not use (a question about an object's
    colour must name neither its colour nor its category, which implies the colour).
    Returns None when no phrase is unambiguous, e.g. two big circles; callers then skip
    that question.
    """
    for attrs in _DESCRIPTORS:
        if any(a in without for a in attrs):
            continue
        matches = [o for o in scene.objects if all(getattr(o, a) == getattr(target, a) for a in attrs)]
        if len(matches) == 1:
            return _phrase(target, attrs)
    return None


def _phrase(obj: ShapeObject, attrs: tuple[str, ...]) -> str:
    if "category" in attrs:
        return obj.category
    words = [getattr(obj, a) for a in ("size", "shape") if a in attrs]
    if "position" in attrs:
        words.append(POSITION_PHRASES[obj.position])
    return " ".join(words)
