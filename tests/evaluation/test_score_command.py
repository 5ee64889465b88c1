"""`manage.py score`: metrics of predictions made elsewhere, as one JSON object."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command


def pope_files(tmp_path, predictions):
    refs = tmp_path / "coco_pope_random.json"
    refs.write_text(
        "\n".join(
            json.dumps({"question_id": i, "image": "a.png", "text": "Is there a cat?", "label": label})
            for i, label in enumerate(["yes", "no", "yes", "no"], start=1)
        )
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text("\n".join(json.dumps({"question_id": q, "prediction": p}) for q, p in predictions))
    return refs, preds


def score(capsys, *args):
    call_command("score", *args)
    return json.loads(capsys.readouterr().out)


def test_pope_reference_parser_reads_french_no_as_yes_but_the_french_parser_does_not(tmp_path, capsys):
    refs, preds = pope_files(tmp_path, [(1, "Oui."), (2, "Non."), (3, "Yes, there is."), (4, "No.")])
    common = ["--benchmark", "pope", "--references", str(refs), "--predictions", str(preds)]
    reference = score(capsys, *common)
    french = score(capsys, *common, "--parser", "french")
    assert reference["n"] == 4 and reference["accuracy"] == 0.75 and reference["yes_ratio"] == 0.75
    assert french["accuracy"] == 1.0 and french["yes_ratio"] == 0.5
    assert {"precision", "recall", "f1"} <= set(french)


def test_unknown_and_missing_question_ids_are_named(tmp_path):
    refs, preds = pope_files(tmp_path, [(1, "Yes"), (2, "No"), (3, "Yes"), (99, "No")])
    with pytest.raises(CommandError, match=r"'99'.*no prediction for 1 \('4'\)"):
        call_command("score", "--benchmark", "pope", "--references", str(refs), "--predictions", str(preds))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="nope.json: no such file"):
        call_command("score", "--benchmark", "textvqa", "--references", str(tmp_path / "nope.json"),
                     "--predictions", str(tmp_path / "p.jsonl"))  # fmt: skip
