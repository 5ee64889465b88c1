"""Imports that cannot be turned against the server: escaping images, control characters, oversize records.

Each bad record is refused with a message naming file, record and field, before anything
reaches the database (SQLite and PostgreSQL say the same), and nothing is written.
"""

from __future__ import annotations

import json

import pytest

from catalog.importers import ImportFormatError
from catalog.models import Item
from catalog.services import import_dataset
from training.data import ConversationDataset, DataFormatError, load_image

pytestmark = pytest.mark.django_db

TURNS = [{"from": "human", "value": "<image>\nWhat colour is it?"}, {"from": "gpt", "value": "Red."}]


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text("root:x:0:0")
    return path


@pytest.fixture
def images(tmp_path, secret):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(b"\x89PNG")
    (folder / "sub" / "b.png").write_bytes(b"\x89PNG")
    (folder / "evil.png").symlink_to(secret)
    (folder / "alias.png").symlink_to(folder / "sub" / "b.png")
    (folder / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    return folder


@pytest.fixture
def existing(tmp_path, images):
    path = tmp_path / "good.json"
    path.write_text(json.dumps([{"id": "x1", "image": "a.png", "conversations": TURNS}]))
    import_dataset(path, format="llava", name="ds", images=images)
    return path


def refused(path, fmt="llava", images=None, name="ds") -> str:
    with pytest.raises(ImportFormatError) as failure:
        import_dataset(path, format=fmt, name=name, images=images)
    return str(failure.value)


def llava(tmp_path, *records, name="in.json"):
    path = tmp_path / name
    path.write_text(json.dumps([{"id": "x1", "image": "a.png", "conversations": TURNS + TURNS}, *records]))
    return path


@pytest.mark.parametrize("image", ["evil.png", "elsewhere/secret.txt"])
def test_llava_image_symlinked_out_of_the_root_is_refused(tmp_path, images, existing, db_state, image):
    before = db_state()
    message = refused(llava(tmp_path, {"id": "x2", "image": image, "conversations": TURNS}), images=images)
    assert f"in.json: record 1 (id 'x2'): field 'image': image {image!r} resolves outside the image root" in message
    assert db_state() == before


def test_monkey_image_symlinked_out_of_the_root_is_refused(tmp_path, images, db_state):
    before = db_state()
    turns = [{"from": "user", "value": "Picture 1: <img>evil.png</img>\nWhat is it?"}, {"from": "assistant", "value": "A cat."}]
    path = tmp_path / "monkey.json"
    path.write_text(json.dumps([{"id": "m1", "conversations": turns}]))
    message = refused(path, fmt="monkey", images=images)
    assert "monkey.json: record 0 (id 'm1'): field 'conversations[0].value': image 'evil.png' resolves outside" in message
    assert db_state() == before


def test_pope_image_symlinked_out_of_the_root_is_refused(tmp_path, images, existing, db_state):
    before = db_state()
    path = tmp_path / "coco_pope_random.json"
    lines = [{"question_id": 1, "image": "a.png", "text": "Is there a cat?", "label": "yes"},
             {"question_id": 2, "image": "evil.png", "text": "Is there a dog?", "label": "no"}]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    message = refused(path, fmt="pope", images=images, name="pope")
    assert "coco_pope_random.json: line 2: record 1 (id '2'): field 'image': image 'evil.png' resolves outside" in message
    assert db_state() == before


def test_scienceqa_and_textvqa_images_symlinked_out_are_refused(tmp_path, images, db_state):
    before = db_state()
    sqa = tmp_path / "sqa.json"
    sqa.write_text(json.dumps([{"id": "q1", "question": "Which?", "choices": ["a", "b"], "answer": 0, "image": "evil.png"}]))
    assert "record 0 (id 'q1'): field 'image': image 'evil.png' resolves outside" in refused(sqa, "scienceqa", images, "sqa")
    (images / "t1.jpg").symlink_to(tmp_path / "outside" / "secret.txt")
    vqa = tmp_path / "textvqa.json"
    vqa.write_text(json.dumps({"data": [{"question_id": 7, "question": "What?", "image_id": "t1", "answers": ["a"] * 10}]}))
    assert "record 0 (id '7'): field 'image_id': image 't1.jpg' resolves outside" in refused(vqa, "textvqa", images, "vqa")
    assert db_state() == before


def test_a_symlink_that_stays_inside_the_root_is_an_image(tmp_path, images):
    result = import_dataset(llava(tmp_path, {"id": "x2", "image": "alias.png", "conversations": TURNS}), format="llava",
                            name="ds", images=images)  # fmt: skip
    assert result.created == 2 and Item.objects.get(external_id="x2").image == "alias.png"


@pytest.mark.parametrize(
    ("record", "where", "problem"),
    [
        ({"id": "x2", "conversations": [TURNS[0], {"from": "gpt", "value": "Re\x00d."}]},
         "field 'conversations[1].value'", "contains a NUL character (U+0000) at position 2"),
        ({"id": "x\x002", "conversations": TURNS}, "field 'id'", "contains a NUL character (U+0000) at position 1"),
        ({"id": "x2", "conversations": [{"from": "human", "value": "Ring\x07"}, TURNS[1]]},
         "field 'conversations[0].value'", "contains a control character (U+0007) at position 4"),
        ({"id": "x2", "conversations": TURNS, "note\x1b": "x"}, "field 'note\x1b'", "control character (U+001B)"),
    ],
)  # fmt: skip
def test_control_characters_are_refused_by_file_record_and_field(tmp_path, images, existing, db_state, record, where, problem):
    before = db_state()
    message = refused(llava(tmp_path, record), images=images)
    assert message.startswith(str(tmp_path / "in.json") + ": record 1 (id ")
    assert where in message and problem in message
    assert db_state() == before


def test_tab_line_feed_and_carriage_return_are_text(tmp_path, images):
    turns = [{"from": "human", "value": "<image>\nA\ttab\r\nand a line?"}, TURNS[1]]
    assert import_dataset(llava(tmp_path, {"id": "x2", "conversations": turns}), format="llava", name="ds").created == 2


def test_a_control_character_in_a_pope_line_names_the_line(tmp_path, images, db_state):
    before = db_state()
    path = tmp_path / "coco_pope_adversarial.json"
    path.write_text(json.dumps({"question_id": 1, "image": "a.png", "text": "Is\x00 there?", "label": "yes"}) + "\n")
    message = refused(path, fmt="pope", images=images, name="pope")
    assert "coco_pope_adversarial.json: line 1: record 0 (id '1'): field 'text': contains a NUL character" in message
    assert db_state() == before


def test_a_ten_thousand_character_id_is_refused_with_a_short_message(tmp_path, existing, db_state):
    before = db_state()
    message = refused(llava(tmp_path, {"id": "y" * 10_000, "conversations": TURNS}))
    assert "record 1 (id 'yyyy" in message and "(10,000 characters)" in message
    assert "field 'id': id of 10,000 characters; at most 200 (IMPORT_MAX_ID_CHARS)" in message
    assert len(message) < 400
    assert db_state() == before


def test_a_pope_id_too_long_once_its_split_is_added(tmp_path, images, db_state):
    before = db_state()
    path = tmp_path / "coco_pope_popular.json"
    path.write_text(json.dumps({"question_id": "9" * 195, "image": "a.png", "text": "Cat?", "label": "yes"}) + "\n")
    assert "field 'question_id': id of 203 characters; at most 200" in refused(path, "pope", images, "pope")
    assert db_state() == before


def test_an_oversize_turn_is_refused(tmp_path, existing, db_state, settings):
    before = db_state()
    long_turn = [TURNS[0], {"from": "gpt", "value": "word " * 6_401}]
    message = refused(llava(tmp_path, {"id": "x2", "conversations": long_turn}))
    assert "record 1 (id 'x2'): field 'conversations[1].value': 32,005 characters; at most 32,000 (IMPORT_MAX_TURN_CHARS)" in message
    settings.IMPORT_MAX_TURN_CHARS = 10
    assert "record 0 (id 'x1'): field 'conversations[0].value': 26 characters" in refused(llava(tmp_path))
    assert db_state() == before


def test_an_oversize_record_is_refused(tmp_path, existing, db_state, settings):
    before = db_state()
    many_turns = TURNS * 300  # each turn short, the record ~20 kB
    settings.IMPORT_MAX_RECORD_BYTES = 10_000
    message = refused(llava(tmp_path, {"id": "x2", "conversations": many_turns}))
    assert "in.json: record 1 (id 'x2'): record is " in message and "at most 10,000 (IMPORT_MAX_RECORD_BYTES)" in message
    assert db_state() == before


def test_a_huge_single_line_record_is_refused_by_its_line(tmp_path, images, existing, db_state):
    before = db_state()
    path = tmp_path / "coco_pope_random.json"
    good = json.dumps({"question_id": 1, "image": "a.png", "text": "Cat?", "label": "yes"})
    huge = json.dumps({"question_id": 2, "image": "a.png", "text": "x" * 3_000_000, "label": "yes"})
    path.write_text(good + "\n" + huge + "\n" + good.replace("1", "3") + "\n")
    message = refused(path, fmt="pope", images=images, name="pope")
    assert "coco_pope_random.json: line 2: record is over 1,000,000 bytes (IMPORT_MAX_RECORD_BYTES)" in message
    assert db_state() == before


def test_the_training_loader_refuses_an_image_outside_its_root(images):
    with pytest.raises(DataFormatError, match=r"record 'e1': image 'evil.png' resolves to .*, outside the image root"):
        load_image(images, {"id": "e1", "image": "evil.png"})
    turns = [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "A cat."}]
    for image in ("../outside/secret.txt", "/etc/passwd"):
        with pytest.raises(DataFormatError, match="must be relative to the image root"):
            ConversationDataset([{"id": "e2", "image": image, "conversations": turns}], images)
