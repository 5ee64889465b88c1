"""The miniature world: a synthetic set of images of coloured shapes and printed words,
with English training data (LLaVA captions and instruction QA, also in Qwen-VL/Monkey
form) and three benchmarks in their real file formats (ScienceQA-IMG, TextVQA, POPE).

Real datasets and 7B models do not run on a laptop or in CI; this world lets a tiny
model run the whole study end to end on a CPU. Pure Python (Pillow only): the Django
command `make_world` wraps `generate_world`, nothing here imports Django.
"""

from __future__ import annotations

from world.generator import SIZES, generate_world

__all__ = ["SIZES", "generate_world"]
