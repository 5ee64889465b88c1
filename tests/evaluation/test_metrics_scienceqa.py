"""ScienceQA-IMG letter scoring, as LLaVA's eval_science_qa.py and lmms-eval do it.

Expected values are worked out by hand from the reference code, rule by rule.
"""

from __future__ import annotations

import pytest

from evaluation.metrics import parsers, scienceqa


def test_target_letter_is_the_answer_index_counted_from_a() -> None:
    assert [scienceqa.target_letter(i) for i in range(5)] == ["A", "B", "C", "D", "E"]


# --- LLaVA eval_science_qa.py ("reference") -------------------------------------

@pytest.mark.parametrize(
    ("prediction", "letter"),
    [
        ("B", "B"),  # rule 1: the whole prediction is an option
        ("E", "E"),  # options are A..E whatever the number of choices
        ("B. sticky", "B"),  # rule 2: letter followed by ". "
        ("The answer is B.", "B"),  # rule 3: one match of the pattern
        ("Because of X. The answer is C.", "C"),
        ("The answer is B!", "B"),  # the pattern's "." is any character
        ("The answer is Bob.", "B"),  # ... including a letter
    ],
)
def test_llava_reads_a_letter(prediction: str, letter: str) -> None:
    assert scienceqa.parse_llava(prediction) == letter


@pytest.mark.parametrize(
    "prediction",
    [
        "b",  # options are upper-case only
        " B",  # no stripping inside the scorer
        "B.",  # rule 2 needs ". " and three characters
        "B.sticky",
        "(B)",
        "F",  # not among the options A..E
        "The answer is B",  # nothing after the letter for the pattern's "."
        "the answer is B.",  # the pattern is case-sensitive
        "The answer is A. The answer is A.",  # two matches -> FAILED
        "",
    ],
)
def test_llava_fails_to_read_a_letter(prediction: str) -> None:
    assert scienceqa.parse_llava(prediction) is None


def test_llava_pred_index_only_accepts_letters_among_the_choices() -> None:
    assert scienceqa.llava_pred_index("C", n_choices=3) == 2
    assert scienceqa.llava_pred_index("D", n_choices=3) == -1
    assert scienceqa.llava_pred_index(None, n_choices=3) == -1


def test_llava_letter_beyond_the_choices_is_wrong_not_an_error() -> None:
    # "The answer is F." parses (the pattern allows A-Z) but F is no option.
    assert scienceqa.parse_llava("The answer is F.") == "F"
    assert scienceqa.llava_score("F", answer=5, n_choices=6) == 0.0


def test_a_failed_parse_is_always_wrong_never_a_random_guess() -> None:
    # Older LLaVA guessed a random choice; LLaVA-1.5 returns -1. Deterministic.
    scores = parsers.scienceqa_scores(["I am not sure"] * 50, [0] * 50, [2] * 50)
    assert scores == [0.0] * 50


# --- lmms-eval sqa_process_results ----------------------------------------------

@pytest.mark.parametrize(
    ("prediction", "answer", "score"),
    [
        ("B", 1, 1.0),  # pred == target
        ("A", 1, 0.0),
        ("b", 1, 1.0),  # case-insensitive since lmms-eval PR #723
        (" B", 1, 1.0),  # stripped
        (" b\n", 1, 1.0),
        ("B.", 1, 1.0),  # upper-case letter then "."
        ("B. sticky", 1, 1.0),
        ("B.sticky", 1, 1.0),  # no space needed, unlike LLaVA
        ("A. sticky", 1, 0.0),
        ("b. sticky", 1, 0.0),  # first character must be upper-case
        ("The answer is B.", 1, 0.0),  # no sentence pattern at all
        ("(B)", 1, 0.0),
        ("", 0, 0.0),
    ],
)
def test_lmms_eval_exact_match(prediction: str, answer: int, score: float) -> None:
    assert scienceqa.lmms_eval_exact_match(prediction, answer) == score


def test_lmms_eval_letter_parse_agrees_with_its_exact_match() -> None:
    for prediction in ["B", "b", " b ", "B.", "b.", "B. x", "The answer is B.", "É.", ""]:
        letter = scienceqa.parse_lmms_eval(prediction)
        expected = 1.0 if letter == "B" else 0.0
        assert scienceqa.lmms_eval_exact_match(prediction, 1) == expected


# --- the two references side by side --------------------------------------------

def test_the_references_disagree_on_sentence_answers_and_bare_letters_with_period() -> None:
    predictions = ["The answer is B.", "B.", "B. sticky", "B"]
    answers, n_choices = [1, 1, 1, 1], [3, 3, 3, 3]
    assert parsers.scienceqa_scores(predictions, answers, n_choices, "reference") == [
        1.0, 0.0, 1.0, 1.0,
    ]
    assert parsers.scienceqa_scores(predictions, answers, n_choices, "lmms-eval") == [
        0.0, 1.0, 1.0, 1.0,
    ]


def test_unknown_parser_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown parser"):
        parsers.scienceqa_scores(["A"], [0], [2], "gpt")
