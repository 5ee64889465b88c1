"""Drawing a scene as a 64x64 PNG.

A pure function of the scene: no randomness here (jitter was decided when the scene
was sampled), and PNGs are written without timestamps or metadata, so the same scene
always gives byte-identical files.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from world.scene import IMAGE_SIZE, Scene, ShapeObject

BACKGROUND = (255, 255, 255)
TEXT_COLOUR = (0, 0, 0)
TEXT_SIZE = 20  # pixels: letters about 15 high and 10 wide (at 14, reading stayed at the blind level even when trained alone)


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's built-in font (Aileron, through FreeType): no font file to ship.
    return ImageFont.load_default(size=TEXT_SIZE)


def render(scene: Scene) -> Image.Image:
    """The scene as an RGB image on white."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        _draw_shape(draw, obj)
    if scene.text is not None and scene.text_centre is not None:
        draw.text(scene.text_centre, scene.text, fill=TEXT_COLOUR, font=_font(), anchor="mm")
    return image


def png_bytes(scene: Scene) -> bytes:
    """The scene encoded as PNG, with no metadata chunks (deterministic bytes)."""
    buffer = io.BytesIO()
    render(scene).save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def save(scene: Scene, images_dir: Path) -> Path:
    path = images_dir / scene.file_name
    path.write_bytes(png_bytes(scene))
    return path


def _draw_shape(draw: ImageDraw.ImageDraw, obj: ShapeObject) -> None:
    x, y, r = obj.cx, obj.cy, obj.radius
    if obj.shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=obj.rgb)
    elif obj.shape == "square":
        s = round(r * 0.85)  # a square of the same "radius" looks bigger than a circle
        draw.rectangle((x - s, y - s, x + s, y + s), fill=obj.rgb)
    elif obj.shape == "triangle":
        draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=obj.rgb)
    elif obj.shape == "star":
        draw.polygon(_star_points(x, y, r), fill=obj.rgb)
    elif obj.shape == "diamond":
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=obj.rgb)
    else:
        raise ValueError(f"unknown shape {obj.shape!r} in image {obj}")


def _star_points(x: int, y: int, r: int) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((x + radius * math.cos(angle), y + radius * math.sin(angle)))
    return points
