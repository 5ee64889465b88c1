"""The ``lmms-eval`` parser scores exactly as lmms-eval's main branch does.

The oracles below are lmms-eval's own functions, copied with only the ``doc`` /
``results`` plumbing reduced to arguments, from EvolvingLMMs-Lab/lmms-eval at commit
75571cfe0fa36ca5ec2e6aa2bb268f9d38295af3 (main, 2026-08-06), which is
``parsers.LMMS_EVAL_COMMIT``. lmms-eval itself is not imported: it is no dependency.
Each test compares our entry points with the oracle on a table of named cases and on
thousands of generated strings; a failure prints the first string they disagree on.
"""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Sequence
from typing import Any

import pytest

from evaluation.metrics import parsers, scienceqa, textvqa

SEED = 20260806


# --- oracle: lmms_eval/tasks/scienceqa/utils.py @ 75571cf (last changed 8ada805, #723)

def oracle_sqa_doc_to_target(doc: dict[str, Any]) -> str:
    len_choices = len(doc["choices"])
    options = [chr(ord("A") + i) for i in range(len_choices)]
    return options[doc["answer"]]


def oracle_sqa_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    # I know this is weird, but it's how llava parse it.
    target = oracle_sqa_doc_to_target(doc).strip().lower()
    pred = results[0].strip()
    if pred.lower() == target:
        return {"exact_match": 1.0}
    # pattern: ^[A-Z]\. .*
    if len(pred) >= 2 and pred[0].isupper() and pred[1] == ".":
        result = 1.0 if pred[0].lower() == target else 0.0
        return {"exact_match": result}
    return {"exact_match": 0.0}


# --- oracle: lmms_eval/tasks/pope/utils.py @ 75571cf (last changed 9596fbd) ----------

def oracle_pope_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    pred = results[0].lower().strip()
    gt_ans = doc["answer"].lower().strip()
    assert gt_ans in ["yes", "no"]
    score = 1.0 if pred == gt_ans else 0.0
    return {"score": score, "prediction": pred, "ground_truth": gt_ans}


def oracle_pope_aggregate(results: list[dict[str, Any]]) -> dict[str, float]:
    """pope_aggregate_accuracy / precision / recall / f1_score / yes_ratio, inlined."""
    accuracy = sum(result["score"] for result in results) / len(results)
    tp = fp = fn = 0
    for result in results:
        pred, gt = result["prediction"], result["ground_truth"]
        if gt == "yes" and pred == "yes":
            tp += 1
        elif gt == "no" and pred == "yes":
            fp += 1
    for result in results:
        pred, gt = result["prediction"], result["ground_truth"]
        if gt == "yes" and pred == "no":
            fn += 1
    precision = tp / (tp + fp) if (tp + fp) > 0 else 0
    recall = tp / (tp + fn) if (tp + fn) > 0 else 0
    f1 = 2 * (precision * recall) / (precision + recall) if (precision + recall) > 0 else 0
    yes_count = sum(1 for result in results if result["ground_truth"] == "yes")
    no_count = sum(1 for result in results if result["ground_truth"] == "no")
    yes_ratio = yes_count / (yes_count + no_count) if (yes_count + no_count) > 0 else 0
    return {
        "accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
        "yes_ratio": yes_ratio,
    }


# --- oracle: lmms_eval/tasks/_task_utils/vqa_eval_metric.py @ 75571cf (2c03baf) ------
#     and lmms_eval/tasks/textvqa/utils.py textvqa_process_results (c7eaef3)

class OracleEvalAIAnswerProcessor:
    CONTRACTIONS = {
        "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
        "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
        "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
        "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
        "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've",
        "hes": "he's", "howd": "how'd", "howll": "how'll", "hows": "how's",
        "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've", "isnt": "isn't",
        "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
        "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
        "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
        "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
        "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at",
        "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
        "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's",
        "shouldve": "should've", "shouldnt": "shouldn't", "shouldnt've": "shouldn't've",
        "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
        "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
        "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
        "someoned've": "someone'd've", "someone'dve": "someone'd've",
        "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
        "somethingd've": "something'd've", "something'dve": "something'd've",
        "somethingll": "something'll", "thats": "that's", "thered": "there'd",
        "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
        "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
        "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're",
        "theyve": "they've", "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've",
        "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
        "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's",
        "whered": "where'd", "wheres": "where's", "whereve": "where've", "whod": "who'd",
        "whod've": "who'd've", "who'dve": "who'd've", "wholl": "who'll", "whos": "who's",
        "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's",
        "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
        "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all",
        "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
        "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd",
        "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
        "youre": "you're", "youve": "you've",
    }
    NUMBER_MAP = {
        "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
        "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
    }
    ARTICLES = ["a", "an", "the"]
    PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
    COMMA_STRIP = re.compile(r"(?<=\d)(\,)+(?=\d)")
    PUNCTUATIONS = [
        ";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">",
        "<", "@", "`", ",", "?", "!",
    ]

    def word_tokenize(self, word: str) -> str:
        word = word.lower()
        word = word.replace(",", "").replace("?", "").replace("'s", " 's")
        return word.strip()

    def process_punctuation(self, in_text: str) -> str:
        out_text = in_text
        for p in self.PUNCTUATIONS:
            if (p + " " in in_text or " " + p in in_text) or (
                re.search(self.COMMA_STRIP, in_text) is not None
            ):
                out_text = out_text.replace(p, "")
            else:
                out_text = out_text.replace(p, " ")
        out_text = self.PERIOD_STRIP.sub("", out_text, re.UNICODE)
        return out_text

    def process_digit_article(self, in_text: str) -> str:
        out_text = []
        temp_text = in_text.lower().split()
        for word in temp_text:
            word = self.NUMBER_MAP.setdefault(word, word)
            if word not in self.ARTICLES:
                out_text.append(word)
        for word_id, word in enumerate(out_text):
            if word in self.CONTRACTIONS:
                out_text[word_id] = self.CONTRACTIONS[word]
        return " ".join(out_text)

    def __call__(self, item: str) -> str:
        item = self.word_tokenize(item)
        item = item.replace("\n", " ").replace("\t", " ").strip()
        item = self.process_punctuation(item)
        item = self.process_digit_article(item)
        return item


def oracle_textvqa_process_results(doc: dict[str, Any], result: list[str]) -> float:
    eval_ai_processor = OracleEvalAIAnswerProcessor()
    res_ans = eval_ai_processor(result[0])
    accuracy: float = 0
    if "answers" in doc and doc["answers"] is not None:
        gt_acc = []
        for i in range(len(doc["answers"])):
            doc["answers"][i] = eval_ai_processor(doc["answers"][i])
        for i in range(len(doc["answers"])):
            other = [doc["answers"][j] for j in range(len(doc["answers"])) if i != j]
            matching = [item for item in other if item == res_ans]
            gt_acc.append(min(1, float(len(matching)) / 3))
        accuracy = statistics.mean(gt_acc)
    return accuracy


# --- generated inputs --------------------------------------------------------------

def _strings(pieces: Sequence[str], count: int, max_pieces: int = 5) -> list[str]:
    rng = random.Random(SEED)
    return [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, max_pieces)))
        for _ in range(count)
    ]


SQA_PIECES = (
    "A", "B", "C", "D", "E", "a", "b", "c", "e", ".", ". ", " ", "\n", "\t", "(", ")",
    ":", "The answer is ", "answer", "É", "é", "ı", "\u212a", "1", "Z",
)
VQA_PIECES = (
    "stop", "Stop", " ", "sign", "two", "2", ",", "000", ".", "3.14", "?", "'s", "the ",
    "a ", "An ", "dont", "Im", "-", " - ", "/", "(", ")", "!", "\n", "\t", "coca", "cola",
    "none", "ten", "U.S.A.", "somebody'd",
)
POPE_ANSWERS = (
    "yes", "no", "Yes", "No", "YES", " no ", "Yes.", "No.", "yes, there is",
    "No, there is not.", "", "maybe", "Non", "Oui", "\nyes\t", "n o",
)


# --- ScienceQA ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prediction", "answer", "expected"),
    [
        ("A", 0, 1.0),
        ("a", 0, 1.0),  # case-insensitive since PR #723
        (" a", 0, 1.0),  # stripped
        ("A.", 0, 1.0),  # upper-case letter then "."
        ("A. tiger", 0, 1.0),
        ("A.tiger", 0, 1.0),
        ("a.", 0, 0.0),  # "a." is not "a", and the "." pattern needs upper case
        ("(A)", 0, 0.0),
        ("The answer is A", 0, 0.0),
        ("The answer is A.", 0, 0.0),
        ("B", 0, 0.0),
        ("B.", 0, 0.0),
        ("", 0, 0.0),
        ("e", 4, 1.0),
    ],
)
def test_scienceqa_table(prediction: str, answer: int, expected: float) -> None:
    doc = {"choices": ["x"] * 5, "answer": answer}
    assert oracle_sqa_process_results(doc, [prediction])["exact_match"] == expected
    assert parsers.scienceqa_scores([prediction], [answer], [5], "lmms-eval") == [expected]


def test_scienceqa_matches_lmms_eval_on_generated_strings() -> None:
    predictions = _strings(SQA_PIECES, 4000, max_pieces=3)
    for n_choices in (2, 5):
        for answer in range(n_choices):
            doc = {"choices": ["x"] * n_choices, "answer": answer}
            ours = parsers.scienceqa_scores(
                predictions, [answer] * len(predictions), [n_choices] * len(predictions),
                "lmms-eval",
            )
            for prediction, score in zip(predictions, ours, strict=True):
                assert score == oracle_sqa_process_results(doc, [prediction])[
                    "exact_match"
                ], prediction


def test_scienceqa_letter_read_for_diagnostics_is_the_letter_lmms_eval_credits() -> None:
    # diagnostics.py counts parse_lmms_eval's letters: a letter must be read exactly
    # when lmms-eval would credit it, and no letter when it credits none.
    for prediction in _strings(SQA_PIECES, 4000, max_pieces=3):
        letter = scienceqa.parse_lmms_eval(prediction)
        credited = [
            chr(ord("A") + answer)
            for answer in range(5)
            if oracle_sqa_process_results({"choices": ["x"] * 5, "answer": answer},
                                          [prediction])["exact_match"]
        ]
        if credited:
            assert [letter] == credited, prediction
        else:
            assert letter not in scienceqa.OPTIONS, prediction


# --- POPE --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prediction", "label", "score"),
    [
        ("yes", "yes", 1.0),
        ("Yes", "yes", 1.0),
        (" NO\n", "no", 1.0),
        ("Yes.", "yes", 0.0),  # no punctuation stripping
        ("Yes, there is a dog.", "yes", 0.0),  # no first-word rule
        ("There is no dog.", "no", 0.0),  # no "no" substring rule
        ("Non", "no", 0.0),
    ],
)
def test_pope_table(prediction: str, label: str, score: float) -> None:
    doc = {"answer": label}
    assert oracle_pope_process_results(doc, [prediction])["score"] == score
    assert parsers.pope_scores([prediction], [label], "lmms-eval")["accuracy"] == score


def test_pope_yes_ratio_counts_labels_not_predictions() -> None:
    metrics = parsers.pope_scores(["no", "no", "no", "no"], ["yes", "yes", "yes", "no"],
                                  "lmms-eval")
    assert metrics["yes_ratio"] == 0.75


def test_pope_matches_lmms_eval_on_generated_answer_sets() -> None:
    rng = random.Random(SEED)
    for _ in range(400):
        size = rng.randint(1, 30)
        predictions = [rng.choice(POPE_ANSWERS) for _ in range(size)]
        labels = [rng.choice(("yes", "no")) for _ in range(size)]
        oracle = oracle_pope_aggregate(
            [
                oracle_pope_process_results({"answer": label}, [prediction])
                for prediction, label in zip(predictions, labels, strict=True)
            ]
        )
        ours = parsers.pope_scores(predictions, labels, "lmms-eval")
        assert {key: ours[key] for key in oracle} == oracle, (predictions, labels)
        assert ours["n"] == size


# --- TextVQA -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("Stop", ["stop"] * 10, 1.0),
        ("stop", ["stop"] * 3 + ["go"] * 7, 0.9),
        ("stop", ["stop"] * 2 + ["go"] * 8, 0.6),
        ("stop", ["stop"] + ["go"] * 9, 0.3),
        ("two", ["2"] * 4 + ["x"] * 6, 1.0),
        ("The Stop sign.", ["stop sign"] * 4 + ["x"] * 6, 1.0),
        ("2,000", ["2000"] * 10, 1.0),
        ("stop", ["stop"] * 9, 1.0),  # any number of answers
        ("stop", ["stop", "stop", "stop", "go", "go"], 0.7999999999999999),  # mean, sic
    ],
)
def test_textvqa_table(prediction: str, answers: list[str], expected: float) -> None:
    doc = {"answers": list(answers)}
    assert oracle_textvqa_process_results(doc, [prediction]) == pytest.approx(expected)
    assert parsers.textvqa_scores([prediction], [answers], "lmms-eval") == [
        oracle_textvqa_process_results({"answers": list(answers)}, [prediction])
    ]


def test_textvqa_normalisation_matches_lmms_eval_on_generated_strings() -> None:
    oracle = OracleEvalAIAnswerProcessor()
    for text in _strings(VQA_PIECES, 4000, max_pieces=6):
        assert textvqa.normalize_answer(text) == oracle(text), text


def test_textvqa_matches_lmms_eval_on_generated_questions() -> None:
    rng = random.Random(SEED)
    pool = _strings(VQA_PIECES[:12], 40, max_pieces=2)
    predictions, answer_lists = [], []
    for _ in range(1500):
        answer_lists.append([rng.choice(pool) for _ in range(rng.randint(1, 14))])
        predictions.append(rng.choice(pool))
    ours = parsers.textvqa_scores(predictions, answer_lists, "lmms-eval")
    for prediction, answers, score in zip(predictions, answer_lists, ours, strict=True):
        assert score == oracle_textvqa_process_results(
            {"answers": list(answers)}, [prediction]
        ), (prediction, answers)


def test_textvqa_empty_answer_list_fails_as_in_lmms_eval() -> None:
    with pytest.raises(statistics.StatisticsError):
        oracle_textvqa_process_results({"answers": []}, ["stop"])
    with pytest.raises(ValueError, match="position 0 has no reference answers"):
        parsers.textvqa_scores(["stop"], [[]], "lmms-eval")


def test_the_oracles_come_from_the_commit_the_code_names() -> None:
    # Moving parsers.LMMS_EVAL_COMMIT means re-copying the oracles from that commit.
    assert __doc__ is not None
    assert f"commit\n{parsers.LMMS_EVAL_COMMIT} (main, {parsers.LMMS_EVAL_COMMIT_DATE})" in (
        __doc__
    )
