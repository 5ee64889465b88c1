"""Benchmark and prediction files: reading the real formats, and ``score_files``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from evaluation.metrics import (
    BenchmarkFormatError,
    PredictionsMismatchError,
    read_pope,
    read_scienceqa,
    read_textvqa,
    score_files,
)


def sqa_record(
    qid: str, answer: int, choices: Sequence[str] = ("sticky", "smooth")
) -> dict[str, Any]:
    return {
        "id": qid, "question": "Which property do these objects share?",
        "choices": list(choices), "answer": answer, "hint": "", "image": f"{qid}.png",
        "subject": "natural science", "category": "Physical Science",
    }


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def predictions(tmp_path: Path, answers: dict[Any, str]) -> Path:
    rows = [{"question_id": qid, "prediction": text} for qid, text in answers.items()]
    return write_jsonl(tmp_path / "predictions.jsonl", rows)


# --- readers ----------------------------------------------------------------------


def test_scienceqa_reader_reads_a_list_of_records(tmp_path: Path) -> None:
    path = write_json(tmp_path / "sqa.json", [sqa_record("4", 1), sqa_record("7", 0)])
    items = read_scienceqa(path)
    assert [(i.id, i.answer, i.choices) for i in items] == [
        ("4", 1, ("sticky", "smooth")), ("7", 0, ("sticky", "smooth")),
    ]
    assert items[0].subject == "natural science"


def test_scienceqa_reader_also_reads_problems_json_keyed_by_id(tmp_path: Path) -> None:
    record = sqa_record("ignored", 1)
    del record["id"]
    path = write_json(tmp_path / "problems.json", {"12": record})
    assert read_scienceqa(path)[0].id == "12"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": None}, r"record 1: field 'answer' should be int"),
        ({"answer": 2}, r"record 1: field 'answer' is 2, outside choices 0..1"),
        ({"answer": True}, r"record 1: field 'answer' should be int"),
        ({"choices": "sticky"}, r"record 1: field 'choices' should be list"),
        ({"choices": ["a", 3]}, r"record 1: field 'choices'\[1\] should be str"),
        ({"choices": ["a"]}, r"record 1: field 'choices' needs at least 2"),
        ({"id": 4.5}, r"record 1: field 'id' should be str or int"),
    ],
)
def test_scienceqa_reader_names_file_record_and_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    records = [sqa_record("1", 0), {**sqa_record("2", 0), **change}]
    path = write_json(tmp_path / "sqa.json", records)
    with pytest.raises(BenchmarkFormatError, match=message) as error:
        read_scienceqa(path)
    assert str(path) in str(error.value)


def test_missing_field_is_named(tmp_path: Path) -> None:
    record = sqa_record("2", 0)
    del record["question"]
    path = write_json(tmp_path / "sqa.json", [record])
    with pytest.raises(BenchmarkFormatError, match=r"record 0: missing field 'question'"):
        read_scienceqa(path)


def test_repeated_ids_are_rejected(tmp_path: Path) -> None:
    path = write_json(tmp_path / "sqa.json", [sqa_record("1", 0), sqa_record("1", 1)])
    with pytest.raises(BenchmarkFormatError, match=r"record 1: id '1' repeats record 0"):
        read_scienceqa(path)


def test_invalid_json_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "sqa.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(BenchmarkFormatError, match="not valid JSON"):
        read_scienceqa(path)


def textvqa_file(tmp_path: Path, answers: Sequence[Sequence[str]]) -> Path:
    data = [
        {"question_id": 34602 + i, "question": "what brand is this?", "image_id": f"img{i}",
         "answers": list(a), "image_classes": ["Bottle"], "flickr_original_url": ""}
        for i, a in enumerate(answers)
    ]
    return write_json(tmp_path / "TextVQA_0.5.1_val.json", {"dataset_type": "val", "data": data})


def test_textvqa_reader(tmp_path: Path) -> None:
    items = read_textvqa(textvqa_file(tmp_path, [["coke"] * 10]))
    assert items[0].question_id == "34602"
    assert items[0].answers == ("coke",) * 10


def test_textvqa_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFormatError, match="'data' list"):
        read_textvqa(write_json(tmp_path / "t.json", [{"question_id": 1}]))
    record = {"question_id": 1, "question": "q", "image_id": "i"}
    path = write_json(tmp_path / "t.json", {"data": [record]})
    with pytest.raises(BenchmarkFormatError, match=r"t.json: record 0: missing field 'answers'"):
        read_textvqa(path)


POPE_ROWS: list[dict[str, Any]] = [
    {"question_id": 1, "image": "a.jpg", "text": "Is there a dog in the image?", "label": "yes"},
    {"question_id": 2, "image": "a.jpg", "text": "Is there a cat in the image?", "label": "no"},
    {"question_id": 3, "image": "b.jpg", "text": "Is there a car in the image?", "label": "yes"},
    {"question_id": 4, "image": "b.jpg", "text": "Is there a bus in the image?", "label": "no"},
]


def test_pope_reader(tmp_path: Path) -> None:
    items = read_pope(write_jsonl(tmp_path / "coco_pope_random.json", POPE_ROWS))
    assert [(i.question_id, i.label) for i in items][:2] == [("1", "yes"), ("2", "no")]


def test_pope_reader_names_the_line(tmp_path: Path) -> None:
    rows = [POPE_ROWS[0], {**POPE_ROWS[1], "label": "Yes"}]
    path = tmp_path / "pope.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n", encoding="utf-8")
    message = r"record 1 \(line 3\): field 'label' should be 'yes' or 'no'"
    with pytest.raises(BenchmarkFormatError, match=message):
        read_pope(path)


# --- score_files ------------------------------------------------------------------


def test_score_scienceqa_under_each_parser(tmp_path: Path) -> None:
    records = [sqa_record("1", 1), sqa_record("2", 0), sqa_record("3", 1)]
    refs = write_json(tmp_path / "sqa.json", records)
    preds = predictions(tmp_path, {"1": "The answer is B.", "2": " A\n", "3": "La réponse est B."})
    # predictions are stripped as the references' generation code does: " A\n" -> "A"
    assert score_files("scienceqa", refs, preds)["accuracy"] == pytest.approx(2 / 3)
    assert score_files("scienceqa", refs, preds, "lmms-eval")["accuracy"] == pytest.approx(1 / 3)
    result = score_files("scienceqa", refs, preds, "french")
    assert result["accuracy"] == 1.0
    assert result["n"] == 3
    low, high = result["ci95"]["accuracy"]
    assert low <= result["accuracy"] <= high


def test_score_textvqa(tmp_path: Path) -> None:
    refs = textvqa_file(tmp_path, [["coca cola"] * 10, ["2"] * 3 + ["two"] * 7])
    preds = predictions(tmp_path, {34602: "Coca-Cola", "34603": "deux"})  # ids as int or str
    assert score_files("textvqa", refs, preds)["accuracy"] == pytest.approx(0.5)
    assert score_files("textvqa", refs, preds, "french")["accuracy"] == 1.0


def test_score_textvqa_reference_needs_ten_answers(tmp_path: Path) -> None:
    refs = textvqa_file(tmp_path, [["coke"] * 9])
    preds = predictions(tmp_path, {34602: "coke"})
    with pytest.raises(BenchmarkFormatError, match=r"question_id '34602' has 9 answers"):
        score_files("textvqa", refs, preds)
    assert score_files("textvqa", refs, preds, "lmms-eval")["accuracy"] == 1.0


def test_score_textvqa_lmms_eval_needs_an_answer(tmp_path: Path) -> None:
    # lmms-eval's textvqa_process_results fails on statistics.mean([]); we name the question.
    refs = textvqa_file(tmp_path, [[]])
    preds = predictions(tmp_path, {34602: "coke"})
    with pytest.raises(BenchmarkFormatError, match=r"question_id '34602' has no answers"):
        score_files("textvqa", refs, preds, "lmms-eval")
    assert score_files("textvqa", refs, preds, "french")["accuracy"] == 0.0


def test_score_pope(tmp_path: Path) -> None:
    refs = write_jsonl(tmp_path / "coco_pope_random.json", POPE_ROWS)
    preds = predictions(tmp_path, {1: "Yes, there is a dog.", 2: "Non.", 3: "Oui.", 4: "No."})
    result = score_files("pope", refs, preds)
    # parsed yes, yes, yes, no -> TP 2, FP 1, TN 1, FN 0
    assert result["accuracy"] == 0.75
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == 1.0
    assert result["yes_ratio"] == 0.75
    assert result["n"] == 4
    assert result["f1"] == pytest.approx(0.8)
    assert set(result["ci95"]) == {"accuracy", "precision", "recall", "f1", "yes_ratio"}
    assert "splits" not in result
    assert score_files("pope", refs, preds, "french")["accuracy"] == 1.0


def test_score_pope_reports_each_split_of_a_merged_file(tmp_path: Path) -> None:
    rows = [
        {**row, "category": "random" if row["question_id"] <= 2 else "adversarial"}
        for row in POPE_ROWS
    ]
    refs = write_jsonl(tmp_path / "llava_pope_test.jsonl", rows)
    preds = predictions(tmp_path, {1: "Yes", 2: "No", 3: "No", 4: "No"})
    result = score_files("pope", refs, preds)
    assert result["accuracy"] == 0.75
    assert result["splits"]["random"]["accuracy"] == 1.0
    assert result["splits"]["adversarial"]["accuracy"] == 0.5
    assert result["splits"]["adversarial"]["n"] == 2


def test_predictions_must_cover_exactly_the_questions(tmp_path: Path) -> None:
    refs = write_jsonl(tmp_path / "pope.jsonl", POPE_ROWS)
    preds = predictions(tmp_path, {1: "Yes", 2: "No", 99: "Yes", 100: "No"})
    with pytest.raises(PredictionsMismatchError) as error:
        score_files("pope", refs, preds)
    message = str(error.value)
    assert "predictions.jsonl" in message
    assert "2 ('99', '100') question ids not in" in message
    assert "no prediction for 2 ('3', '4') questions" in message


def test_a_long_list_of_missing_ids_is_shortened(tmp_path: Path) -> None:
    refs = write_json(tmp_path / "sqa.json", [sqa_record(str(i), 0) for i in range(12)])
    preds = predictions(tmp_path, {"0": "A"})
    shortened = r"11 \('1', '2', '3', '4', '5' and 6 more\)"
    with pytest.raises(PredictionsMismatchError, match=shortened):
        score_files("scienceqa", refs, preds)


def test_prediction_file_errors(tmp_path: Path) -> None:
    refs = write_json(tmp_path / "sqa.json", [sqa_record("1", 0)])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"question_id": "1", "text": "A"}])
    message = r"p.jsonl: record 0 \(line 1\): missing field 'prediction'"
    with pytest.raises(BenchmarkFormatError, match=message):
        score_files("scienceqa", refs, preds)
    preds = write_jsonl(tmp_path / "p.jsonl", [{"question_id": "1", "prediction": "A"}] * 2)
    with pytest.raises(BenchmarkFormatError, match="repeats record 0"):
        score_files("scienceqa", refs, preds)


def test_unknown_benchmark_or_parser(tmp_path: Path) -> None:
    refs = write_json(tmp_path / "sqa.json", [sqa_record("1", 0)])
    preds = predictions(tmp_path, {"1": "A"})
    with pytest.raises(ValueError, match="unknown benchmark"):
        score_files("mmbench", refs, preds)
    with pytest.raises(ValueError, match="unknown parser"):
        score_files("scienceqa", refs, preds, "english")


def test_score_files_attaches_diagnostics(tmp_path: Path) -> None:
    refs = write_json(tmp_path / "sqa.json", [sqa_record(str(i), i % 2) for i in range(10)])
    preds = predictions(tmp_path, {str(i): "A" for i in range(10)})
    flags = score_files("scienceqa", refs, preds)["flags"]
    assert [flag["code"] for flag in flags] == ["single_letter"]
