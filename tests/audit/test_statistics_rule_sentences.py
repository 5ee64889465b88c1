"""Export pages read rules as sentences and the "Removed" column as counts."""

from __future__ import annotations

import pytest
from export_world import build, graded_world

from exports.rules import describe_rule, parse_rule


def test_the_default_rule_reads_as_keep_high_drop_the_rest():
    assert describe_rule(parse_rule({})) == (
        "Keep translations whose final grade is high; drop moderate and low. "
        "Final grades from the annotators' consensus and from adjudication both count. "
        "Translations without a final grade are dropped. "
        "Text: the post-edit a reviewer chose as final, else the machine translation. "
        "Scope: fr translations, from every dataset. Control items are never exported."
    )


def test_every_choice_of_a_rule_is_said():
    sentence = describe_rule(parse_rule({
        "min_grade": "moderate", "require_agreement": True, "unaudited": "automatic", "use_post_edit": False,
        "datasets": ["llava-b", "llava-a"], "task_types": ["caption"], "splits": ["adversarial"], "engine": "apertium",
        "model": "m7", "prompt_version": "v2",
    }))  # fmt: skip
    assert sentence.startswith("Keep translations whose final grade is high or moderate; drop low.")
    assert "translations settled by adjudication are dropped" in sentence
    assert "kept when the automatic checks suggest high or moderate" in sentence
    assert "the machine translation as it is (post-edits ignored)" in sentence
    assert ("Scope: fr translations, from datasets llava-a, llava-b, of task type caption, in split adversarial,"
            " engine apertium, model m7, prompt version v2.") in sentence  # fmt: skip


def test_the_all_translations_rule_and_the_annotator_post_edit_fallback():
    sentence = describe_rule(parse_rule({"min_grade": "low", "post_edit_from_assessments": True}))
    assert sentence.startswith("Keep every audited translation, whatever its final grade")
    assert "else the earliest annotator's post-edit, else the machine translation" in sentence


@pytest.mark.django_db
def test_the_snapshot_pages_show_the_sentence_and_removed_counts(client, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path
    _dataset, _campaign, admin = graded_world(24)
    snapshot = build("high", {"min_grade": "high"})
    client.force_login(admin)
    page = client.get(f"/audit/snapshots/{snapshot.pk}/").content.decode()
    assert "Keep translations whose final grade is high; drop moderate and low." in page
    assert "&#x27;min_grade&#x27;" not in page and "{'min_grade'" not in page  # no Python dict
    table = page[page.index('id="removed"') :]
    table = table[: table.index("</table>")]
    for task, v in snapshot.balance["removed_by_task_type"].items():
        removed = v["candidates"] - v["kept"]
        assert f'<td>{task}</td><td class="num">{v["candidates"]}</td><td class="num">{v["kept"]}</td><td class="num">{removed}</td>' in table
    listing = client.get("/audit/snapshots/").content.decode()
    assert "Keep translations whose final grade is high; drop moderate and low." in listing
