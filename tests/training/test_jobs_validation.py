"""Creating a training job refuses bad inputs before anything is stored or queued, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_world import graded_world
from jobs_world import SMALL, english_dataset

from audit.models import FinalGrade
from exports.build import create_rule, request_snapshot, run_build
from training.jobs import JobValidationError, create_training_job
from training.models import TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.MODEL_ROOT = tmp_path / "models"
    return english_dataset(tmp_path / "data")


def refused(**kwargs) -> JobValidationError:
    with pytest.raises(JobValidationError) as caught:
        create_training_job(enqueue=False, **kwargs)
    assert not TrainingJob.objects.exists()
    return caught.value


def test_a_valid_job_stores_its_stages_and_data(english):
    job = create_training_job(template="english_base", data={"en_pretrain": english, "en_finetune": english},
                              overrides=SMALL, enqueue=False)
    assert [s["name"] for s in job.stages] == ["pretrain", "finetune"]
    assert all(s["max_steps"] == 3 and s["batch_size"] == 4 for s in job.stages)
    assert job.data == {"en_pretrain": {"dataset": english.pk}, "en_finetune": {"dataset": english.pk}}
    assert job.state == "queued" and job.output_dir == f"jobs/{job.pk}"


def test_unknown_preset_lists_the_valid_ones(english):
    error = refused(template="english_base", preset="huge", data={"en_pretrain": english, "en_finetune": english})
    assert error.field == "preset" and "tiny, paper" in error.message


def test_negative_learning_rate_is_named(english):
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english},
                    overrides={"projector": {"lr": -0.1}})
    assert error.field == "overrides.projector" and "negative learning rate" in error.message


def test_lora_on_a_frozen_part_is_refused(english):
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english},
                    overrides={"vision_tower": {"mode": "lora"}})
    assert error.field == "overrides.vision_tower" and "LoRA on the vision_tower" in error.message


def test_unknown_setting_is_named(english):
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english},
                    overrides={"learning_rate": 1})
    assert error.field == "overrides.learning_rate" and "unknown setting" in error.message


def test_a_role_without_data_is_named(english):
    error = refused(template="english_base", data={"en_pretrain": english})
    assert error.field == "data.en_finetune" and "finetune" in error.message


def test_missing_images_are_named_with_the_file(tmp_path, settings):
    settings.MODEL_ROOT = tmp_path / "models"
    dataset = english_dataset(tmp_path / "data", missing=2)
    error = refused(template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset})
    assert error.field == "data.en_pretrain"
    assert "2 image(s)" in error.message and "'gone14.png'" in error.message and "en-mini.json" in error.message


def test_an_empty_snapshot_is_refused(english, tmp_path):
    graded_world(8, image_root=tmp_path / "data")
    snapshot, _ = request_snapshot(create_rule("high", {"min_grade": "high"}), "llava", enqueue=False)
    FinalGrade.objects.filter(grade="high").delete()  # regraded while the build waited in the queue
    empty = run_build(snapshot.pk)
    error = refused(template="variant2", data={"en_pretrain": english, "fr_finetune": empty})
    assert error.field == "data.fr_finetune" and "no examples" in error.message and "selects nothing" in error.message


def test_an_empty_dataset_file_is_refused(english):
    Path(english.source_path).write_text("[]")
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english})
    assert error.field == "data.en_pretrain" and "no examples" in error.message


def test_a_base_job_must_be_done(english):
    data = {"en_pretrain": english, "en_finetune": english}
    base = create_training_job(template="english_base", data=data, overrides=SMALL, enqueue=False)
    with pytest.raises(JobValidationError) as caught:
        create_training_job(template="english_base", data=data, base_job=base, enqueue=False)
    assert caught.value.field == "base_job" and "queued" in caught.value.message
    assert TrainingJob.objects.count() == 1


def test_more_gpus_than_one_machine_holds_are_refused(english):
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english}, gpus_per_node=9)
    assert error.field == "gpus_per_node" and "at most 8" in error.message


@pytest.fixture
def paper_dirs(tmp_path, settings):
    """The paper preset's local model directories (their configs are all validation reads)."""
    for name in ("TRAINING_PAPER_LANGUAGE_MODEL_DIR", "TRAINING_PAPER_VISION_TOWER_DIR"):
        directory = tmp_path / name.lower()
        directory.mkdir()
        (directory / "config.json").write_text("{}")
        setattr(settings, name, str(directory))
    settings.TRAINING_GPU_MEMORY_GIB = 80


def test_a_job_that_cannot_fit_its_gpus_is_refused_with_what_would(english, paper_dirs):
    error = refused(template="english_base", preset="paper", data={"en_pretrain": english, "en_finetune": english},
                    nodes=1, gpus_per_node=1)
    assert error.field == "gpus_per_node"
    assert "stage 'finetune' needs" in error.message and "but the GPUs have 80 GiB" in error.message
    assert "smallest configuration that fits: 2 GPUs" in error.message


def test_the_same_job_on_enough_gpus_is_accepted(english, paper_dirs):
    job = create_training_job(template="english_base", preset="paper", enqueue=False, nodes=1, gpus_per_node=8,
                              data={"en_pretrain": english, "en_finetune": english})
    assert job.ranks == 8


def test_more_nodes_than_a_job_may_have_are_refused(english):
    error = refused(template="english_base", data={"en_pretrain": english, "en_finetune": english}, nodes=65)
    assert error.field == "nodes" and "at most 64 machines" in error.message
