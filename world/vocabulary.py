"""Everything the world can contain, and how it is said in English.

One place for the closed vocabulary, so the scene sampler, the question writers and
the benchmarks can never disagree on a spelling (British: "colour", "centre").
The weights are deliberately uneven: real object frequencies are skewed, and POPE's
"popular" split only means something when some objects are much more common.
"""

from __future__ import annotations

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
SHAPE_WEIGHTS: tuple[float, ...] = (0.35, 0.30, 0.20, 0.15)
SHAPE_PLURALS: dict[str, str] = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "star": "stars",
}

COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow", "purple")
COLOUR_WEIGHTS: tuple[float, ...] = (0.30, 0.25, 0.20, 0.15, 0.10)
COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "blue": (30, 60, 220),
    "green": (30, 160, 50),
    "yellow": (235, 200, 20),
    "purple": (140, 50, 180),
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

# Printed words: 3-5 letters, none of them a shape, colour or position word, so reading
# questions cannot be answered from the shapes.
WORDS: tuple[str, ...] = (
    "cat", "dog", "sun", "bus", "car", "hat", "cup", "map",
    "milk", "book", "fish", "moon", "cake", "park", "shop", "rain",
    "bird", "taxi", "exit", "open", "stop", "tree", "lamp", "door",
    "apple", "house", "bread", "train", "music", "water", "happy", "plant",
)  # fmt: skip

NUMBER_WORDS: dict[str, str] = {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine",
}  # fmt: skip


def object_name(colour: str, shape: str) -> str:
    """The POPE-style object name, e.g. "red circle"."""
    return f"{colour} {shape}"


def all_object_names() -> list[str]:
    """Every colour+shape combination, in a fixed order (colour-major)."""
    return [object_name(c, s) for c in COLOURS for s in SHAPES]


def article(noun_phrase: str) -> str:
    """English indefinite article for a noun phrase ("an ellipse", "a red circle")."""
    return "an" if noun_phrase[:1] in "aeiou" else "a"


def companion(colour: str, shape: str) -> tuple[str, str]:
    """The object that tends to appear next to (colour, shape).

    A fixed pairing (not seeded) gives the world stable co-occurrence structure,
    which POPE's "adversarial" split samples from; it differs from popularity.
    """
    c = COLOURS[(COLOURS.index(colour) + 2) % len(COLOURS)]
    s = SHAPES[(SHAPES.index(shape) + 1) % len(SHAPES)]
    return c, s
