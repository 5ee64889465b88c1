"""Each corruption breaks what it says, and only that (pure, no database)."""

from __future__ import annotations

import random

import pytest

from audit.controls import corrupt, make_control

SOURCE = [{"from": "human", "value": "<image>\nWhich colour is the shape?\nA. red\nB. blue"},
          {"from": "gpt", "value": "The shape is red."}]  # fmt: skip
FRENCH = [{"from": "human", "value": "<image>\nDe quelle couleur est la forme ?\nA. rouge\nB. bleu"},
          {"from": "gpt", "value": "La forme est rouge."}]  # fmt: skip


def test_swap_answer_takes_another_items_answer():
    result = corrupt(FRENCH, SOURCE, "swap_answer", donor_answer="Il y a trois cercles.")
    assert result[1]["value"] == "Il y a trois cercles." and result[0] == FRENCH[0]
    assert corrupt(FRENCH, SOURCE, "swap_answer", donor_answer="La forme est rouge.") is None


@pytest.mark.parametrize("answer, negated", [("La forme est rouge.", "La forme n'est pas rouge."),
                                             ("Oui", "Non"), ("Il n'y a pas de chat.", "Il y a de chat.")])
def test_negation_flips_the_answer(answer, negated):
    turns = [FRENCH[0], {"from": "gpt", "value": answer}]
    assert corrupt(turns, SOURCE, "negation")[1]["value"] == negated


def test_untranslated_leaves_the_english_answer():
    assert corrupt(FRENCH, SOURCE, "untranslated")[1]["value"] == "The shape is red."


def test_structure_drops_the_image_token_or_breaks_an_option_letter():
    assert "<image>" not in corrupt(FRENCH, SOURCE, "structure")[0]["value"]
    no_image = [{"from": "human", "value": "Quelle couleur ?\nA. rouge\nB. bleu"}, FRENCH[1]]
    assert corrupt(no_image, SOURCE, "structure")[0]["value"] == "Quelle couleur ?\n. rouge\nB. bleu"


def test_make_control_always_changes_the_translation_and_leaves_the_input_alone():
    rng = random.Random(3)
    original = [dict(t) for t in FRENCH]
    for _ in range(20):
        kind, turns = make_control(FRENCH, SOURCE, rng, ["Non.", "Deux."])
        assert turns != FRENCH and kind
    assert FRENCH == original
