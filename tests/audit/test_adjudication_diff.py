"""The word diff of a post-edit against the translation, and how a disagreement is named (pure)."""

from __future__ import annotations

import pytest

from audit.disagreements import Disagreement, disagreement, word_diff


def rebuild(runs, keep):
    return "".join(text for op, text in runs if op in keep)


def test_a_changed_word_is_one_deletion_then_one_insertion():
    runs = word_diff("Non, elle est bleue.", "Non, elle est verte.")
    assert runs == [("same", "Non, elle est "), ("del", "bleue."), ("ins", "verte.")]


def test_a_rewritten_phrase_reads_as_one_run_each_way():
    runs = word_diff("La forme est rouge vif ici", "La figure semble rouge ici")
    assert runs == [("same", "La "), ("del", "forme est"), ("ins", "figure semble"), ("same", " rouge "),
                    ("del", "vif "), ("same", "ici")]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after"),
    [("", "Oui"), ("Oui", ""), ("a  b\n c", "a b\nc d"), ("<image>\nLa forme ?", "<image>\nLa  forme rouge ?"),
     (" ".join(["le"] * 300) + " chat", " ".join(["le"] * 300) + " chien")],  # fmt: skip
)
def test_the_runs_give_back_both_texts_exactly(before, after):
    runs = word_diff(before, after)
    assert rebuild(runs, {"same", "del"}) == before and rebuild(runs, {"same", "ins"}) == after


def test_a_long_text_with_one_change_marks_only_that_word():
    # difflib's autojunk would treat the frequent "le" and " " as junk past 200 tokens.
    before = " ".join(["le"] * 300) + " chat"
    runs = word_diff(before, before.replace("chat", "chien"))
    assert [op for op, _ in runs] == ["same", "del", "ins"]


def test_unchanged_text_is_a_single_same_run():
    assert word_diff("Oui", "Oui") == [("same", "Oui")]


def test_disagreements_are_named_by_the_grades_given_and_their_spread():
    assert disagreement(["low", "high"]) == Disagreement("high/low", 2)
    assert disagreement(["moderate", "high", "high"]) == Disagreement("high/moderate", 1)
    assert disagreement(["low", "moderate", "high"]) == Disagreement("high/moderate/low", 2)
    with pytest.raises(ValueError, match="unknown grade 'great'"):
        disagreement(["great", "low"])
