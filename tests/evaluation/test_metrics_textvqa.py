"""TextVQA VQA accuracy and the EvalAI answer normalisation (LLaVA m4c_evaluator.py).

Each normalisation case is traced by hand through word_tokenize, process_punctuation
and process_digit_article of the reference processor.
"""

from __future__ import annotations

import pytest

from evaluation.metrics import parsers, textvqa
from evaluation.metrics.textvqa import normalize_answer


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        # word_tokenize: lower-case, commas and "?" deleted, "'s" split off
        ("Coca Cola", "coca cola"),
        ("2,000", "2000"),
        ("1,234,567", "1234567"),
        ("What?", "what"),
        ("It's", "it 's"),
        ("John's", "john 's"),
        # newlines and tabs become spaces, outer whitespace goes
        ("  stop\tsign\n", "stop sign"),
        # process_punctuation: a mark beside a space is deleted ...
        ("hello - world", "hello world"),
        ("(yes)", "yes"),  # "(" is not beside a space: replaced by a space, then split
        # ... otherwise it becomes a space
        ("hello-world", "hello world"),
        ("50/50", "50 50"),
        ("1-800-flowers", "1 800 flowers"),
        ("a+b", "b"),  # "a" is then an article
        ("yes!", "yes"),
        # characters outside the list survive
        ("$5", "$5"),
        ("10%", "10%"),
        ("#1", "#1"),
        # PERIOD_STRIP: a period goes unless a digit follows it
        ("end.", "end"),
        ("3.14", "3.14"),
        ("U.S.A.", "usa"),
        ("v1.2.", "v1.2"),
        (".5", ".5"),
        # process_digit_article: number words 0..10 ("none" too), articles, contractions
        ("ten", "10"),
        ("none", "0"),
        ("Two Dogs", "2 dogs"),
        ("eleven", "eleven"),  # the map stops at ten
        ("twenty-two", "twenty 2"),
        ("a", ""),
        ("The answer", "answer"),
        ("an apple", "apple"),
        ("dont", "don't"),
        ("Im", "im"),  # capitalised keys in the table never match lower-cased text
        ("somebody'd", "somebodyd"),  # sic, from the reference table
        ("cant stop", "can't stop"),
    ],
)
def test_normalize_answer(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_punctuation_next_to_a_comma_between_digits_is_deleted_not_spaced() -> None:
    # process_punctuation's COMMA_STRIP branch. normalize_answer never reaches it
    # (word_tokenize already deleted the commas), but the rule itself is kept.
    assert textvqa.process_punctuation("1,000-a") == "1000a"
    assert textvqa.process_punctuation("x-a") == "x a"


def test_period_strip_removes_at_most_32_periods() -> None:
    # re.UNICODE (32) is passed as the count argument of sub() in the reference.
    assert normalize_answer("." * 40) == "." * 8


TEN = 10


def answers_with(match: str, k: int, other: str = "other") -> list[str]:
    return [match] * k + [other] * (TEN - k)


@pytest.mark.parametrize(
    ("k", "accuracy"),
    [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)],
)
def test_vqa_accuracy_averages_ten_leave_one_out_subsets(k: int, accuracy: float) -> None:
    # k matching annotators: leaving one of them out leaves k-1 matches, leaving out
    # another annotator leaves k; each subset scores min(matches / 3, 1).
    # k=3: (3 * 2/3 + 7 * 1) / 10 = 0.9 - three annotators are not a full point.
    assert textvqa.vqa_accuracy("stop", answers_with("stop", k)) == pytest.approx(accuracy)


def test_vqa_accuracy_normalises_prediction_and_answers_alike() -> None:
    assert textvqa.vqa_accuracy("2", answers_with("Two", 4)) == 1.0
    assert textvqa.vqa_accuracy("The Stop sign.", answers_with("stop sign", 4)) == 1.0
    assert textvqa.vqa_accuracy("2,000", answers_with("2000", 4)) == 1.0


def test_an_empty_answer_list_scores_zero() -> None:
    assert textvqa.vqa_accuracy("stop", []) == 0.0


def test_reference_needs_exactly_ten_answers_lmms_eval_does_not() -> None:
    nine = ["stop"] * 9
    with pytest.raises(ValueError, match="exactly 10"):
        parsers.textvqa_scores(["stop"], [nine], "reference")
    # lmms-eval: nine leave-one-out subsets, each with 8 matches -> 1.0
    assert parsers.textvqa_scores(["stop"], [nine], "lmms-eval") == [1.0]


def test_both_references_agree_on_ten_answers() -> None:
    gold = [answers_with("coca cola", 2, "coke")]
    for prediction in ["Coca-Cola", "coca cola", "coke", "pepsi"]:
        assert parsers.textvqa_scores([prediction], gold, "reference") == (
            parsers.textvqa_scores([prediction], gold, "lmms-eval")
        )
    assert parsers.textvqa_scores(["Coca-Cola"], gold, "reference") == [pytest.approx(0.6)]
