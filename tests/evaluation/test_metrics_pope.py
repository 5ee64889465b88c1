"""POPE yes/no parsing and metrics, as LLaVA's eval_pope.py and lmms-eval do them."""

from __future__ import annotations

import pytest

from evaluation.metrics import parsers, pope


@pytest.mark.parametrize(
    ("answer", "parsed"),
    [
        ("Yes", "yes"),
        ("Yes, there is a dog.", "yes"),
        ("No", "no"),
        ("No.", "no"),
        ("no", "no"),
        ("No, there is no dog.", "no"),
        ("There is no dog in the image.", "no"),
        ("The dog is not visible", "no"),
        ("Yes. There is no cat.", "yes"),  # only the first sentence counts
        ("The answer is no", "no"),
        ("No,there is a dog", "yes"),  # commas are deleted: "Nothere" is no word
        ("No\nthere is a dog", "yes"),  # split on " " only: "No\nthere" is one word
        ("NO", "yes"),  # case-sensitive: only "No", "no" and "not"
        ("Not really", "yes"),
        ("Nope", "yes"),
        ("Non.", "yes"),  # a French "no" is scored yes
        ("", "yes"),  # anything without a no-word is yes
    ],
)
def test_llava_parser(answer: str, parsed: str) -> None:
    assert pope.parse_llava(answer) == parsed


def test_lmms_eval_parser_only_lowercases_and_strips() -> None:
    assert pope.parse_lmms_eval(" Yes\n") == "yes"
    assert pope.parse_lmms_eval("No.") == "no."
    assert pope.parse_lmms_eval("Yes, there is a dog.") == "yes, there is a dog."


ANSWERS = ["Yes", "No.", "Yes, there is a dog.", "There is no cat.", "Non."]
LABELS = ["yes", "no", "no", "yes", "no"]


def test_llava_metrics() -> None:
    # parsed: yes, no, yes, no, yes -> TP 1 (0), FP 2 (2, 4), TN 1 (1), FN 1 (3)
    metrics = parsers.pope_scores(ANSWERS, LABELS, "reference")
    assert metrics["accuracy"] == pytest.approx(2 / 5)
    assert metrics["precision"] == pytest.approx(1 / 3)
    assert metrics["recall"] == pytest.approx(1 / 2)
    assert metrics["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert metrics["yes_ratio"] == pytest.approx(3 / 5)  # share of yes predictions
    assert metrics["n"] == 5


def test_lmms_eval_metrics() -> None:
    # predictions: "yes", "no.", "yes, there is a dog.", "there is no cat.", "non."
    # Only the exact "yes" counts: TP 1, FP 0, FN 0 ("there is no cat." is not "no").
    metrics = parsers.pope_scores(ANSWERS, LABELS, "lmms-eval")
    assert metrics["accuracy"] == pytest.approx(1 / 5)  # "no." != "no"
    assert metrics["precision"] == 1.0
    assert metrics["recall"] == 1.0
    assert metrics["f1"] == 1.0
    # lmms-eval's pope_aggregate_yes_ratio counts the ground-truth labels (2 of 5)
    assert metrics["yes_ratio"] == pytest.approx(2 / 5)


def test_exact_yes_no_answers_score_the_same_under_both_references() -> None:
    answers = ["yes", "no", "yes", "no", "yes", "yes"]
    labels = ["yes", "no", "no", "yes", "yes", "no"]
    llava = parsers.pope_scores(answers, labels, "reference")
    lmms = parsers.pope_scores(answers, labels, "lmms-eval")
    for key in ("accuracy", "precision", "recall", "f1"):
        assert llava[key] == pytest.approx(lmms[key])


def test_zero_denominators_give_zero_instead_of_crashing() -> None:
    # LLaVA divides by zero when nothing is predicted yes; lmms-eval returns 0.
    metrics = pope.llava_metrics(["no", "no"], ["yes", "no"])
    assert metrics["precision"] == 0.0
    assert metrics["f1"] == 0.0
    assert metrics["accuracy"] == 0.5
    assert metrics["yes_ratio"] == 0.0


def test_labels_other_than_no_are_positive_in_llava() -> None:
    assert pope.llava_metrics(["yes"], ["maybe"])["precision"] == 1.0


def test_prediction_yes_share_is_the_models_own_yes_ratio() -> None:
    assert pope.prediction_yes_share(["yes", "no", "yes, a dog", "yes"]) == 0.5
    assert pope.prediction_yes_share([]) == 0.0


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        pope.llava_metrics(["yes"], ["yes", "no"])
