"""Flags for degenerate answers: yes-bias, one letter for everything, unreadable or
wrong-language answers."""

from __future__ import annotations

import pytest

from evaluation.metrics import diagnose
from evaluation.metrics.diagnostics import answer_language


def codes(flags: list) -> list[str]:  # type: ignore[type-arg]
    return [flag["code"] for flag in flags]


def test_pope_yes_bias_is_flagged_at_90_percent() -> None:
    assert codes(diagnose("pope", ["Yes"] * 9 + ["No"])) == ["pope_yes_bias"]
    assert codes(diagnose("pope", ["Yes"] * 8 + ["No"] * 2)) == []


def test_pope_no_bias_is_flagged_at_10_percent() -> None:
    assert codes(diagnose("pope", ["No"] * 9 + ["Yes"])) == ["pope_no_bias"]


def test_french_no_answers_look_like_yes_bias_under_the_english_parser() -> None:
    answers = ["Non."] * 5 + ["Oui."] * 5
    assert "pope_yes_bias" in codes(diagnose("pope", answers))
    assert "pope_yes_bias" not in codes(diagnose("pope", answers, parser="french"))


def test_flag_messages_say_what_was_seen() -> None:
    (flag,) = diagnose("pope", ["Yes"] * 10)
    assert flag["message"] == "100% of POPE answers are yes"


def test_one_letter_in_80_percent_of_scienceqa_answers() -> None:
    flags = diagnose("scienceqa", ["A"] * 8 + ["B", "C"])
    assert codes(flags) == ["single_letter"]
    assert "option A" in flags[0]["message"]
    assert codes(diagnose("scienceqa", ["A"] * 7 + ["B", "C", "D"])) == []


def test_the_letter_share_counts_every_answer_parsed_or_not() -> None:
    # 8 of 10 answers are "A", the other two unreadable: still 80% "A".
    answers = ["A"] * 8 + ["I don't know"] * 2
    assert codes(diagnose("scienceqa", answers)) == ["single_letter", "unparseable"]


def test_unparseable_scienceqa_answers_at_20_percent() -> None:
    answers = ["A", "B", "C", "D"] * 2 + ["", "La réponse est B."]
    assert codes(diagnose("scienceqa", answers)) == ["unparseable"]
    assert codes(diagnose("scienceqa", answers, parser="french")) == []


def test_unparseable_pope_answers_have_no_yes_or_no_word() -> None:
    answers = ["Yes", "No"] * 4 + ["A dog.", ""]
    assert codes(diagnose("pope", answers)) == ["unparseable"]


def test_lmms_eval_pope_reads_only_exact_yes_or_no() -> None:
    answers = ["yes", "no"] * 4 + ["Yes, a dog.", "No."]
    assert codes(diagnose("pope", answers, parser="lmms-eval")) == ["unparseable"]
    assert codes(diagnose("pope", answers)) == []


def test_textvqa_answers_that_normalise_to_nothing_are_unparseable() -> None:
    assert codes(diagnose("textvqa", ["coke", "the", "", "stop"])) == ["unparseable"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Yes, there is a dog in the image.", "en"),
        ("Oui, il y a un chien sur l'image.", "fr"),
        ("Il n'y a pas de chat.", "fr"),
        ("Non.", "fr"),
        ("No.", "en"),
        ("B", None),
        ("coca cola", None),
        ("2000", None),
    ],
)
def test_answer_language(text: str, language: str | None) -> None:
    assert answer_language(text) == language


def test_answers_in_the_wrong_language_are_flagged() -> None:
    answers = ["Yes, there is a dog."] * 3 + ["Oui, il y a un chien.", "Non."] * 3 + ["Non."]
    flags = diagnose("pope", answers, parser="french", expected_language="fr")
    assert codes(flags) == ["wrong_language"]
    assert "30%" in flags[0]["message"]
    assert codes(diagnose("pope", answers, parser="french", expected_language="en")) == [
        "wrong_language"
    ]


def test_short_answers_do_not_count_as_wrong_language() -> None:
    assert codes(diagnose("textvqa", ["coke", "2000", "stop"], expected_language="fr")) == []


def test_no_answers_no_flags() -> None:
    assert diagnose("pope", []) == []
    assert diagnose("scienceqa", []) == []


def test_unknown_benchmark() -> None:
    with pytest.raises(ValueError, match="unknown benchmark"):
        diagnose("gqa", ["yes"])
