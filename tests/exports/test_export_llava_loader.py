"""The LLaVA file reads with a loader written to the rules of LLaVA's LazySupervisedDataset.

LLaVA's train.py: the file is a JSON list; a record with `image` opens
image_folder/image (so the file must exist); `<image>` is moved to the start of the
first human turn (we require it there, exactly once); roles alternate human / gpt from
a human turn (preprocess_v1 asserts it); `lengths` splits every `value` (strings only).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_world import build, graded_world
from PIL import Image

from exports.build import snapshot_path

pytestmark = pytest.mark.django_db
ROLES = ("human", "gpt")


class LlavaRuleError(AssertionError):
    pass


def load_like_llava(path: Path, image_folder: Path) -> list[dict]:
    records = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise LlavaRuleError("LLaVA reads a JSON list")
    for index, record in enumerate(records):
        where = f"record {index} ({record.get('id')!r})"
        if not isinstance(record.get("id"), str) or not isinstance(record.get("conversations"), list):
            raise LlavaRuleError(f"{where}: needs id and conversations")
        turns = record["conversations"]
        if not turns or len(turns) % 2:
            raise LlavaRuleError(f"{where}: needs human/gpt pairs")
        for j, turn in enumerate(turns):
            if set(turn) != {"from", "value"} or turn["from"] != ROLES[j % 2] or not isinstance(turn["value"], str):
                raise LlavaRuleError(f"{where}: turn {j} breaks the alternation or shape: {turn}")
        tokens = sum(turn["value"].count("<image>") for turn in turns)
        if "image" in record:
            if not turns[0]["value"].startswith("<image>\n") or tokens != 1:
                raise LlavaRuleError(f"{where}: <image> must open the first human turn, once")
            Image.open(image_folder / record["image"]).convert("RGB")  # what __getitem__ does
        elif tokens:
            raise LlavaRuleError(f"{where}: <image> without an image")
    return records


@pytest.fixture
def images(tmp_path, settings) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    root = tmp_path / "images"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8), (i * 80, 0, 0)).save(root / f"img{i}.png")
    return root


def test_exported_llava_file_passes_llava_loader_rules(images):
    dataset, _campaign, _admin = graded_world(24, image_root=images)
    snapshot = build("hm", {"min_grade": "moderate", "use_post_edit": True})
    records = load_like_llava(snapshot_path(snapshot.file), Path(dataset.image_root))
    assert len(records) == snapshot.item_count == 12
    assert records[0]["conversations"][0]["value"] == "<image>\nLa forme 0 est-elle rouge ?"


def test_post_edit_chosen_by_adjudication_replaces_the_translation(images):
    from audit.models import FinalGrade

    graded_world(8, image_root=images)
    final = FinalGrade.objects.get(entry__translation__item__source_index=0)
    # an annotator's corrected text, with <image> at the end as people sometimes type it
    final.final_turns = [{"from": "human", "value": "La forme 0 est-elle rouge ?\n<image>"},
                         {"from": "gpt", "value": "Non, elle est bleue (corrigé)."}]  # fmt: skip
    final.save()
    snapshot = build("high", {"min_grade": "high"})
    records = load_like_llava(snapshot_path(snapshot.file), images)
    assert records[0]["conversations"][1]["value"] == "Non, elle est bleue (corrigé)."
    assert snapshot.balance["post_edit_share"] == 0.5  # 1 of the 2 kept
    plain = build("high-raw", {"min_grade": "high", "use_post_edit": False})
    assert load_like_llava(snapshot_path(plain.file), images)[0]["conversations"][1]["value"] == "Non, elle est bleue."


def test_the_loader_catches_violations(tmp_path):
    bad = tmp_path / "bad.json"
    for record in (
        {"id": "a", "image": "missing.png", "conversations": [{"from": "human", "value": "<image>\nQ"}, {"from": "gpt", "value": "A"}]},
        {"id": "b", "image": "x.png", "conversations": [{"from": "human", "value": "Q <image>"}, {"from": "gpt", "value": "A"}]},
        {"id": "c", "conversations": [{"from": "gpt", "value": "A"}, {"from": "human", "value": "Q"}]},
    ):  # fmt: skip
        Image.new("RGB", (2, 2)).save(tmp_path / "x.png")
        bad.write_text(json.dumps([record]))
        with pytest.raises((LlavaRuleError, FileNotFoundError)):
            load_like_llava(bad, tmp_path)
