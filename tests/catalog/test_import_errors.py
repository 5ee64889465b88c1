"""Bad input: the command exits non-zero naming file, record and field, and writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Dataset, Item

pytestmark = pytest.mark.django_db

TURNS = [{"from": "human", "value": "<image>\nWhat colour is it?"}, {"from": "gpt", "value": "Red."}]


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(b"\x89PNG")
    return folder


@pytest.fixture
def existing(tmp_path, images):
    """A dataset already imported, so every failure must leave it exactly as it was."""
    path = tmp_path / "good.json"
    path.write_text(json.dumps([{"id": "x1", "image": "a.png", "conversations": TURNS}]))
    call_command("import_dataset", str(path), format="llava", name="ds", images=str(images))
    return path


def run_import(path, fmt="llava", name="ds", images=None):
    options = {"format": fmt, "name": name}
    if images:
        options["images"] = str(images)
    with pytest.raises(CommandError) as failure:
        call_command("import_dataset", str(path), **options)
    return str(failure.value)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_malformed_json_names_file_and_line(tmp_path, existing, images, db_state):
    before = db_state()
    path = write(tmp_path, "broken.json", '[\n {"id": "x2", "image": "a.png",\n  "conversations": [}\n]')
    message = run_import(path, images=images)
    assert "broken.json" in message and "line 3" in message and "malformed JSON" in message
    assert "Nothing was imported" in message
    assert db_state() == before


def test_record_missing_a_field_names_record_and_field(tmp_path, existing, images, db_state):
    before = db_state()
    data = [
        {"id": "x1", "image": "a.png", "conversations": TURNS + TURNS},  # a valid change, rolled back too
        {"id": "x2", "image": "b.png", "conversations": TURNS},
        {"id": "x3", "image": "a.png"},
    ]
    message = run_import(write(tmp_path, "missing.json", json.dumps(data)), images=images)
    assert "missing.json: record 2 (id 'x3'): field 'conversations': missing" in message
    assert db_state() == before
    assert Item.objects.count() == 1


def test_wrong_type_names_the_field_and_the_types(tmp_path, db_state):
    before = db_state()
    data = [{"id": "q1", "question": "Which?", "choices": ["a", "b"], "answer": "1"}]
    message = run_import(write(tmp_path, "sqa.json", json.dumps(data)), fmt="scienceqa", name="sqa")
    assert "sqa.json: record 0 (id 'q1'): field 'answer': expected an integer, got a string" in message
    assert db_state() == before
    assert not Dataset.objects.filter(name="sqa").exists()


def test_wrong_type_inside_a_turn(tmp_path, existing, images, db_state):
    before = db_state()
    data = [{"id": "x9", "image": "a.png", "conversations": [{"from": "human", "value": 3}]}]
    message = run_import(write(tmp_path, "turn.json", json.dumps(data)), images=images)
    assert "record 0 (id 'x9'): field 'conversations[0].value': expected a string" in message
    assert db_state() == before


def test_image_missing_under_images_dir(tmp_path, existing, images, db_state):
    before = db_state()
    data = [{"id": "x2", "image": "a.png", "conversations": TURNS}, {"id": "x3", "image": "gone.png", "conversations": TURNS}]
    message = run_import(write(tmp_path, "img.json", json.dumps(data)), images=images)
    assert "img.json: record 1 (id 'x3'): field 'image': image 'gone.png' does not exist under" in message
    assert db_state() == before


def test_unknown_format_lists_the_known_ones(tmp_path, existing, db_state):
    before = db_state()
    message = run_import(existing, fmt="coco")
    assert "unknown format 'coco'; known formats: llava, monkey, pope, scienceqa, textvqa" in message
    assert db_state() == before


@pytest.mark.parametrize(
    ("fmt", "name", "text", "expected"),
    [
        (
            "textvqa", "tv.json",
            json.dumps({"data": [{"question_id": 7, "question": "what?", "image_id": "a", "answers": ["x"] * 9}]}),
            "tv.json: record 0 (id '7'): field 'answers': expected 10 reference answers, got 9",
        ),
        (
            "pope", "coco_pope_random.json",
            '{"question_id": 1, "image": "a.png", "text": "Is there a cat?", "label": "yes"}\n'
            '{"question_id": 2, "image": "a.png", "text": "Is there a dog?", "label": "maybe"}\n',
            "coco_pope_random.json: line 2: record 1 (id '2'): field 'label': expected 'yes' or 'no', got 'maybe'",
        ),
        (
            "scienceqa", "sqa.json",
            json.dumps([{"id": "q", "question": "?", "choices": ["a", "b"], "answer": 5}]),
            "field 'answer': index 5 is outside the 2 choices",
        ),
        (
            "monkey", "m.json",
            json.dumps([{"id": "m", "conversations": [{"from": "human", "value": "<img>a.png</img> hi"}]}]),
            "field 'conversations[0].from': expected 'user'",
        ),
        (
            "llava", "roles.json",
            json.dumps([{"id": "r", "conversations": [TURNS[0], TURNS[0]]}]),
            "field 'conversations[1].from': expected 'gpt' (turns alternate human/gpt), got 'human'",
        ),
    ],
)  # fmt: skip
def test_format_specific_errors(tmp_path, images, existing, db_state, fmt, name, text, expected):
    before = db_state()
    message = run_import(write(tmp_path, name, text), fmt=fmt, name="other", images=images)
    assert expected in message
    assert db_state() == before


def test_command_exits_non_zero_from_the_shell(tmp_path):
    path = write(tmp_path, "bad.json", "{not json")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_dataset", str(path), "--format", "llava", "--name", "x"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode != 0
    assert "bad.json: line 1: malformed JSON" in done.stderr
