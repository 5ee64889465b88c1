"""Settings for one stage only: `overrides["stages"][name]` changes that stage, after the
settings given for every stage; a stage the template lacks is refused, naming it."""

from __future__ import annotations

import pytest

from jobs_world import english_dataset
from training.jobs import JobValidationError, create_training_job
from training.models import TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(tmp_path, settings):
    settings.MODEL_ROOT = tmp_path / "models"
    return english_dataset(tmp_path / "data")


def test_each_stage_gets_its_own_steps_on_top_of_the_shared_settings(english):
    job = create_training_job(
        template="english_base", data={"en_pretrain": english, "en_finetune": english}, enqueue=False,
        overrides={"batch_size": 4, "stages": {"pretrain": {"max_steps": 7}, "finetune": {"max_steps": 2,
                   "projector": {"lr": 0.0005}}}},
    )  # fmt: skip
    pretrain, finetune = job.stages
    assert (pretrain["max_steps"], finetune["max_steps"]) == (7, 2)
    assert pretrain["batch_size"] == finetune["batch_size"] == 4
    assert finetune["projector"]["lr"] == 0.0005 and pretrain["projector"]["lr"] == 0.001


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ({"warmup": {"max_steps": 2}}, "overrides.stages.warmup"),
        ({"pretrain": {"speed": 2}}, "overrides.stages.pretrain.speed"),
        ({"finetune": {"projector": {"lr": -1.0}}}, "overrides.stages.finetune.projector"),
    ],
)
def test_a_bad_stage_setting_is_refused_naming_it(english, stages, field):
    with pytest.raises(JobValidationError) as caught:
        create_training_job(template="english_base", data={"en_pretrain": english, "en_finetune": english},
                            overrides={"stages": stages}, enqueue=False)
    assert caught.value.field == field
    assert not TrainingJob.objects.exists()
