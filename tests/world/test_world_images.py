"""Images show what their scene says: 64x64 RGB on white, each shape's colour at its
centre, printed text in black where the scene puts it, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from world.drawing import png_bytes
from world.scene import Scene, ShapeObject


def test_images_are_64_pixel_rgb_pngs(world_dir: Path, scenes: dict[str, Any]) -> None:
    for name in list(scenes)[:20]:
        with Image.open(world_dir / "images" / name) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (64, 64))


def test_each_shape_is_drawn_in_its_colour_at_its_place(world_dir: Path, scenes: dict[str, Any]) -> None:
    for name, scene in scenes.items():
        with Image.open(world_dir / "images" / name) as image:
            for obj in scene["objects"]:
                # a little below the centre: the tip of a triangle or star is thin
                assert image.getpixel((obj["cx"], obj["cy"] + 1)) == tuple(obj["rgb"]), (name, obj)
            assert image.getpixel((0, 0)) == (255, 255, 255)


def test_printed_text_is_black_and_only_where_the_scene_says(world_dir: Path, scenes: dict[str, Any]) -> None:
    def dark_pixels(image: Image.Image, top: int, bottom: int) -> int:
        pixels = image.crop((0, top, 64, bottom)).tobytes()  # R, G, B bytes
        return sum(max(pixels[i : i + 3]) < 100 for i in range(0, len(pixels), 3))

    band = {"top": (3, 18), "bottom": (44, 61)}
    checked = 0
    for name, scene in scenes.items():
        if scene["text"] is None:
            continue
        with Image.open(world_dir / "images" / name) as image:
            assert dark_pixels(image, *band[scene["text_position"]]) >= 5
            other = "bottom" if scene["text_position"] == "top" else "top"
            if not any(o["position"] == other for o in scene["objects"]):
                assert dark_pixels(image, *band[other]) == 0
        checked += 1
    assert checked >= 30


def test_png_bytes_depend_only_on_the_scene() -> None:
    circle = ShapeObject("apple", "circle", "red", "big", "centre", 32, 32, 9, (220, 30, 30))
    scene = Scene("000001", "train", (circle,), "milk", "word", "bottom", (30, 52))
    data = png_bytes(scene)
    assert data == png_bytes(scene)
    assert b"tIME" not in data and b"tEXt" not in data
    assert data != png_bytes(Scene("000001", "train", (circle,)))
