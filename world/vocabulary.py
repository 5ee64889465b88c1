"""Everything the world can contain, and how it is said in English.

One place for the closed vocabulary, so the scene sampler, the question writers and
the benchmarks can never disagree on a spelling (British: "colour", "centre").

Objects are *categories* ("plum", "box"), each with a look of its own (a colour and a
shape), the way COCO's categories differ in look: whether a category is in a picture is
then carried by a pooled signal (any plum-purple pixels), which is what a tiny LLaVA
learns in minutes; deciding that a colour-and-shape *pair* is absent is not
(shared/notes/tiny-vlm-measurements.md). The weights are deliberately uneven: real
object frequencies are skewed, and POPE's "popular" split only means something when
some objects are much more common.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    shape: str
    colour: str


# Each colour belongs to one category; shapes repeat (two circles, two squares, ...), so a
# question about "the square" still has to find which square.
CATEGORIES: tuple[Category, ...] = (
    Category("apple", "circle", "red"),
    Category("box", "square", "blue"),
    Category("leaf", "triangle", "green"),
    Category("sun", "star", "yellow"),
    Category("plum", "circle", "purple"),
    Category("carrot", "triangle", "orange"),
    Category("bread", "square", "brown"),
    Category("kite", "diamond", "pink"),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CATEGORY_WEIGHTS: tuple[float, ...] = (0.22, 0.18, 0.15, 0.12, 0.10, 0.09, 0.08, 0.06)
BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "diamond")
SHAPE_PLURALS: dict[str, str] = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "star": "stars",
    "diamond": "diamonds",
}

COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow", "purple", "orange", "brown", "pink")
COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "blue": (30, 60, 220),
    "green": (30, 160, 50),
    "yellow": (235, 200, 20),
    "purple": (140, 50, 180),
    "orange": (245, 130, 20),
    "brown": (120, 75, 35),
    "pink": (250, 130, 200),
}

SIZES: tuple[str, ...] = ("big", "small")

# Five non-overlapping slots (a plus sign on a 3x3 grid) so "where is X?" always has
# exactly one answer; corners stay free for nothing, the top or bottom band for text.
POSITIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "centre")
POSITION_PHRASES: dict[str, str] = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "centre": "in the centre",
}
# Reading order used by captions: top row, then middle row left to right, then bottom.
POSITION_ORDER: dict[str, int] = {"top": 0, "left": 1, "centre": 2, "right": 3, "bottom": 4}

# Printed words: a small vocabulary, big enough on the image to be read at 64 pixels;
# none of them a category, shape, colour or position word, so reading questions cannot
# be answered from the objects.
WORDS: tuple[str, ...] = ("cat", "dog", "bus", "car", "hat", "cup", "map", "milk", "book", "fish", "stop", "rain")
NUMBERS: tuple[str, ...] = tuple(str(n) for n in range(2, 10))  # one digit: "1" reads like "l"

NUMBER_WORDS: dict[str, str] = {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine",
}  # fmt: skip


def all_object_names() -> list[str]:
    """Every category, in the vocabulary's fixed order (the order options are listed in)."""
    return list(CATEGORY_NAMES)


def article(noun_phrase: str) -> str:
    """English indefinite article for a noun phrase ("an apple", "a plum")."""
    return "an" if noun_phrase[:1] in "aeiou" else "a"


def companion(name: str) -> str:
    """The category that tends to appear next to `name`.

    A fixed pairing (not seeded) gives the world stable co-occurrence structure,
    which POPE's "adversarial" split samples from; it differs from popularity.
    """
    return CATEGORY_NAMES[(CATEGORY_NAMES.index(name) + 3) % len(CATEGORY_NAMES)]
