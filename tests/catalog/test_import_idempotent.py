"""Re-importing a file: no duplicates, unchanged records untouched, changed records updated."""

from __future__ import annotations

import json

import pytest

from catalog.models import Item
from catalog.services import import_dataset

pytestmark = pytest.mark.django_db


def records(n: int) -> list[dict]:
    return [
        {
            "id": f"rec-{i}",
            "conversations": [{"from": "human", "value": f"Question {i}?"}, {"from": "gpt", "value": f"Answer {i}."}],
        }
        for i in range(n)
    ]


def test_second_import_of_the_same_file_writes_nothing(tmp_path):
    path = tmp_path / "data.json"
    data = records(50)  # text-only records: no image at all
    path.write_text(json.dumps(data))
    first = import_dataset(path, format="llava", name="d")
    stamps = dict(Item.objects.values_list("external_id", "updated_at"))
    second = import_dataset(path, format="llava", name="d")
    assert (first.created, first.updated, first.unchanged) == (50, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 50)
    assert Item.objects.count() == 50
    assert dict(Item.objects.values_list("external_id", "updated_at")) == stamps


def test_changed_and_new_records_are_updated_and_added(tmp_path):
    path = tmp_path / "data.json"
    data = records(10)
    path.write_text(json.dumps(data))
    import_dataset(path, format="llava", name="d")
    data[3]["conversations"][1]["value"] = "A corrected answer."
    data.append({"id": "rec-new", "conversations": [{"from": "human", "value": "New?"}, {"from": "gpt", "value": "Yes."}]})
    path.write_text(json.dumps(data))
    result = import_dataset(path, format="llava", name="d")
    assert (result.created, result.updated, result.unchanged) == (1, 1, 9)
    assert Item.objects.get(external_id="rec-3").conversations[1]["value"] == "A corrected answer."
    assert Item.objects.filter(dataset__name="d").count() == 11


def test_duplicate_ids_within_one_file_are_rejected(tmp_path):
    from catalog.importers import ImportFormatError

    data = records(3)
    data[2]["id"] = "rec-0"
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ImportFormatError, match=r"record 2 \(id 'rec-0'\): field 'id': duplicate id"):
        import_dataset(path, format="llava", name="d")
    assert not Item.objects.exists()


def test_text_with_tabs_newlines_backslashes_and_accents_round_trips(tmp_path):
    tricky = 'Tab\there, line\nbreak, back\\slash, "quotes", accents: é à ç, emoji 🙂, \\N and \r end'
    data = [{"id": "tab\tid\\1", "conversations": [{"from": "human", "value": tricky}, {"from": "gpt", "value": tricky}]}]
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(data))
    import_dataset(path, format="llava", name="d")
    item = Item.objects.get()
    assert item.external_id == "tab\tid\\1"
    assert item.conversations[0]["value"] == tricky
    assert import_dataset(path, format="llava", name="d").unchanged == 1
