"""Bad evaluation requests fail before any run is queued, naming the field and what to do."""

from __future__ import annotations

import json

import pytest
from evaluation_world import done_job, import_benchmarks

from catalog.models import Dataset
from evaluation.models import EvaluationRun
from evaluation.services import EvaluationError, create_evaluation_run

pytestmark = pytest.mark.django_db


def _refused(field: str, match: str, **kwargs) -> None:
    with pytest.raises(EvaluationError, match=match) as caught:
        create_evaluation_run(**{"model_path": "tiny", "benchmark": "pope", "split": "random", "language": "en", **kwargs})
    assert caught.value.field == field
    assert not EvaluationRun.objects.exists()


def test_unknown_names_and_missing_models_are_refused(small_world, model_root):
    import_benchmarks(small_world, "pope")
    _refused("benchmark", "unknown benchmark 'mmlu'", benchmark="mmlu")
    _refused("split", "unknown POPE split 'hard'", split="hard")
    _refused("pipeline", "unknown pipeline 'magic'", pipeline="magic")
    _refused("model_path", "no config.json", model_path="nowhere")
    _refused("training_job", "is running; only a done job", model_path="",
             training_job=done_job("tiny").__class__.objects.create(template="english_base", stages=[], state="running"))
    _refused("split", "no English textvqa benchmark with split 'val'", benchmark="textvqa", split="val")


def test_a_french_run_without_a_translation_says_how_to_make_one(small_world, model_root):
    import_benchmarks(small_world, "pope")
    _refused("language", r"no French translation of pope/random yet: translate .* format 'benchmark'", language="fr")


def test_a_benchmark_file_with_a_missing_field_names_the_record(small_world, model_root, tmp_path):
    dataset = import_benchmarks(small_world, "scienceqa")["scienceqa"]
    broken = json.loads((small_world / "scienceqa/scienceqa_img_test.json").read_text())
    del broken[3]["choices"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    Dataset.objects.filter(pk=dataset.pk).update(source_path=str(path))
    _refused("benchmark", r"broken.json: record 3: missing field 'choices'", benchmark="scienceqa", split="test")
