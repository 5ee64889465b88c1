"""The caption set, shaped like LLaVA's pretraining file blip_laion_cc_sbu_558k.json.

Captions follow one canonical template (objects in reading order, then the text) so a
tiny model can learn them exactly; the caption *requests* vary like LLaVA's do, so the
model learns to ignore the phrasing and translators see realistic variety.
"""

from __future__ import annotations

import random

from world.scene import Scene
from world.vocabulary import POSITION_ORDER, POSITION_PHRASES, article

# Requests taken from LLaVA's pretraining prompts (llava/... "brief description" list).
CAPTION_REQUESTS: tuple[str, ...] = (
    "Describe the image concisely.",
    "Provide a brief description of the given image.",
    "Offer a succinct explanation of the picture presented.",
    "Summarize the visual content of the image.",
    "Give a short and clear explanation of the subsequent image.",
    "Share a concise interpretation of the image provided.",
    "Render a clear and concise summary of the photo.",
    "Write a terse but informative summary of the picture.",
)


def caption(scene: Scene) -> str:
    """E.g. 'a big plum on the left and a small box at the top, with the word "milk"
    written at the bottom.' (lower case, like BLIP captions)."""
    parts = []
    for obj in sorted(scene.objects, key=lambda o: POSITION_ORDER[o.position]):
        noun = f"{obj.size} {obj.category}"
        parts.append(f"{article(noun)} {noun} {POSITION_PHRASES[obj.position]}")
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if scene.text is not None and scene.text_position is not None:
        kind = "word" if scene.text_kind == "word" else "number"
        text += f', with the {kind} "{scene.text}" written {POSITION_PHRASES[scene.text_position]}'
    return text + "."


def caption_records(scenes: list[Scene], rng: random.Random) -> list[dict[str, object]]:
    """One LLaVA pretraining record per scene: {"id", "image", "conversations"}."""
    return [
        {
            "id": scene.image_id,
            "image": scene.file_name,
            "conversations": [
                {"from": "human", "value": "<image>\n" + rng.choice(CAPTION_REQUESTS)},
                {"from": "gpt", "value": caption(scene)},
            ],
        }
        for scene in scenes
    ]
