"""`benchmark` snapshots: the French ScienceQA / TextVQA / POPE read with the evaluation's own readers and score.

Each benchmark of the small world is imported, translated by apertium through the real
translation job, graded (final grades written directly, as tests/export_world.py does),
exported as a `benchmark` snapshot, then read with evaluation.metrics.benchmarks and
scored with evaluation.metrics.score_files, as an evaluation run would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from campaign_world import make_campaign, make_user
from export_world import build

from audit.models import Entry, FinalGrade
from catalog.services import import_dataset
from evaluation.metrics.benchmarks import read_pope, read_scienceqa, read_textvqa
from evaluation.metrics.scoring import score_files
from exports.build import snapshot_path
from translation.checks import detect_language
from translation.models import Translation
from translation.services import create_job, run_job

pytestmark = pytest.mark.django_db

SOURCES = {
    "scienceqa": ("scienceqa/scienceqa_img_test.json", read_scienceqa),
    "textvqa": ("textvqa/TextVQA_0.5.1_val.json", read_textvqa),
    "pope": ("pope", read_pope),
}


def graded_benchmark(world: Path, benchmark: str, tmp_path: Path, settings) -> list:
    """Import, translate (apertium job) and grade every item high; the English records of the world."""
    settings.EXPORT_ROOT = tmp_path / "exports"
    relative, reader = SOURCES[benchmark]
    dataset = import_dataset(world / relative, format=benchmark, name=f"world-{benchmark}", images=world / "images").dataset
    job = run_job(create_job(dataset, engine="apertium", round_trip=False).pk)
    assert job.state == "done", job.message
    admin = make_user("boss", "admin")
    campaign = make_campaign(dataset, [make_user("ann", "annotator")], admin=admin, overlap=1, control_share=0)
    FinalGrade.objects.bulk_create(FinalGrade(entry=entry, grade="high", source="consensus")
                                   for entry in Entry.objects.filter(campaign=campaign))  # fmt: skip
    files = sorted((world / relative).glob("*.json")) if benchmark == "pope" else [world / relative]
    return [record for file in files for record in reader(file)]


def export(benchmark: str, name: str, **spec) -> Path:
    snapshot = build(name, {"min_grade": "high", "datasets": [f"world-{benchmark}"], **spec}, format="benchmark")
    assert snapshot.state == "done", snapshot.message
    return snapshot_path(snapshot.file)


def translated_benchmark(world: Path, benchmark: str, tmp_path: Path, settings) -> tuple[Path, list, list]:
    """(the exported file, its records read back, the English records read from the world)."""
    english = graded_benchmark(world, benchmark, tmp_path, settings)
    path = export(benchmark, f"fr-{benchmark}")
    return path, SOURCES[benchmark][1](path), english


def french(texts: list[str]) -> float:
    """The share of texts the translation checks' language detector takes for French."""
    return sum(detect_language(text)[0] == "fr" for text in texts) / len(texts)


def predictions(tmp_path: Path, answers: dict[str, str]) -> Path:
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps({"question_id": qid, "prediction": text}) + "\n" for qid, text in answers.items()))
    return path


def test_scienceqa_in_french_keeps_ids_choices_count_and_answer_index(small_world, tmp_path, settings):
    path, records, english = translated_benchmark(small_world, "scienceqa", tmp_path, settings)
    assert [r.id for r in records] == [r.id for r in english]
    for fr, en in zip(records, english, strict=True):
        assert fr.answer == en.answer and len(fr.choices) == len(en.choices) and fr.image == en.image
    assert french([r.question for r in records]) >= 0.8
    assert any(fr.question != en.question for fr, en in zip(records, english, strict=True))
    letters = {r.id: "ABCDEFGHIJ"[r.answer] for r in records}
    wrong = records[0]
    letters[wrong.id] = "ABCDEFGHIJ"[(wrong.answer + 1) % len(wrong.choices)]
    scores = score_files("scienceqa", path, predictions(tmp_path, letters))
    assert scores["n"] == len(records) and scores["accuracy"] == pytest.approx((len(records) - 1) / len(records))


def test_textvqa_in_french_keeps_question_ids_images_and_ten_answers(small_world, tmp_path, settings):
    path, records, english = translated_benchmark(small_world, "textvqa", tmp_path, settings)
    assert [(r.question_id, r.image_id) for r in records] == [(r.question_id, r.image_id) for r in english]
    assert all(len(r.answers) == 10 for r in records)
    assert french([r.question for r in records]) >= 0.8
    # the reference answers are the translated ones the translation job stored, all 10 of them
    stored = {str(t.item.meta["question_id"]) if "question_id" in t.item.meta else t.item.external_id: t.meta["answers"]
              for t in Translation.objects.select_related("item")}  # fmt: skip
    assert all(list(r.answers) == stored[r.question_id] for r in records)
    first = {r.question_id: r.answers[0] for r in records}
    scores = score_files("textvqa", path, predictions(tmp_path, first))
    assert scores["n"] == len(records) and scores["accuracy"] > 0.9
    english = score_files("textvqa", path, predictions(tmp_path, {r.question_id: r.answers[0] for r in english}))
    assert english["accuracy"] < scores["accuracy"]  # the French file expects French answers


def test_pope_in_french_one_split_per_file_keeps_question_ids_and_labels(small_world, tmp_path, settings):
    graded_benchmark(small_world, "pope", tmp_path, settings)
    merged = build("fr-pope-all", {"min_grade": "high", "datasets": ["world-pope"]}, format="benchmark")
    assert merged.state == "failed" and "one split per file" in merged.message and "set its splits" in merged.message
    for split in ("adversarial", "popular", "random"):
        path = export("pope", f"fr-pope-{split}", splits=[split])
        records = read_pope(path)
        source = read_pope(small_world / f"pope/coco_pope_{split}.json")
        assert [(r.question_id, r.label, r.image) for r in records] == [(r.question_id, r.label, r.image) for r in source]
        assert {r.category for r in records} == {split} and french([r.text for r in records]) >= 0.8
        answers = {r.question_id: "Oui" if r.label == "yes" else "Non" for r in records}
        scores = score_files("pope", path, predictions(tmp_path, answers), parser="french")
        assert scores["n"] == len(records) and scores["accuracy"] == 1.0 and scores["f1"] == 1.0
        assert 0.3 < scores["yes_ratio"] < 0.7
        # the reference (English) parser misreads French answers: the French-aware one is what makes this 1.0
        assert score_files("pope", path, predictions(tmp_path, answers))["accuracy"] < 1.0
