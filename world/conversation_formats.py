"""Writing one conversation in the two training formats the study uses.

LLaVA: roles human/gpt, the image as a "<image>\\n" prefix of the first human turn
only (each "<image>" stands for one image's features; a second one would ask for a
missing image).
Qwen-VL / Train Monkey: roles user/assistant, the image inlined in the first user turn
as "Picture 1: <img>PATH</img>\\n".
"""

from __future__ import annotations

from world.instruct import InstructRecord

IMAGE_TOKEN = "<image>"


def to_llava(record: InstructRecord) -> dict[str, object]:
    conversations: list[dict[str, str]] = []
    for i, (question, answer) in enumerate(record.turns):
        prefix = IMAGE_TOKEN + "\n" if i == 0 else ""
        conversations.append({"from": "human", "value": prefix + question})
        conversations.append({"from": "gpt", "value": answer})
    return {"id": record.id, "image": record.image, "conversations": conversations}


def to_monkey(record: InstructRecord) -> dict[str, object]:
    conversations: list[dict[str, str]] = []
    for i, (question, answer) in enumerate(record.turns):
        prefix = f"Picture 1: <img>{record.image}</img>\n" if i == 0 else ""
        conversations.append({"from": "user", "value": prefix + question})
        conversations.append({"from": "assistant", "value": answer})
    return {"id": record.id, "conversations": conversations}
