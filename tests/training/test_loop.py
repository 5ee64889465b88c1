"""The training loop: loss points, checkpoints, cancel, exact resume, frozen parts, LoRA merge."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from training.data import ConversationDataset
from training.loop import BatchOrder, Callbacks, run_stage
from training.presets import build_tiny, load_model
from training.recipes import part_of, template

THREADS = 1  # the machines are shared: one thread wastes no time spinning


@pytest.fixture(scope="module")
def instruct(small_world: Path) -> ConversationDataset:
    return ConversationDataset.from_json(small_world / "llava" / "llava_instruct.json", small_world / "images")


@pytest.fixture
def tiny(small_world: Path):
    return build_tiny(small_world / "corpus" / "english.txt")


def lora_stage(**changes):
    """variant2's French LoRA stage, small: adapters, a full projector and vision tower."""
    return dataclasses.replace(template("variant2", "tiny")[1], data=("en_finetune",), batch_size=4, **changes)


def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(small_world, instruct, tmp_path) -> None:
    stage = lora_stage(max_steps=8, warmup_ratio=0.25, lora=dataclasses.replace(lora_stage().lora, dropout=0.1))
    corpus = small_world / "corpus" / "english.txt"
    straight = run_stage(*build_tiny(corpus), stage, instruct, tmp_path / "straight", num_threads=THREADS)

    stop_at_4 = Callbacks(should_stop=lambda: (tmp_path / "cut" / "checkpoints" / "step-000004").exists())
    cut = run_stage(*build_tiny(corpus), stage, instruct, tmp_path / "cut", checkpoint_every=4,
                    callbacks=stop_at_4, num_threads=THREADS)
    assert cut.stopped and cut.steps == 4
    resumed = run_stage(*build_tiny(corpus), stage, instruct, tmp_path / "resumed",
                        resume_from=cut.last_checkpoint, num_threads=THREADS)
    assert resumed.steps == 8 and not resumed.stopped
    expected = straight.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_cancel_stops_within_a_step_and_leaves_a_checkpoint(tiny, instruct, tmp_path) -> None:
    steps: list[int] = []
    callbacks = Callbacks(on_progress=lambda p: steps.append(p.step), should_stop=lambda: len(steps) >= 3)
    result = run_stage(*tiny, lora_stage(max_steps=50), instruct, tmp_path, callbacks=callbacks, num_threads=THREADS)
    assert (result.stopped, result.steps, steps) == (True, 3, [1, 2, 3])
    assert result.model_dir is None and not (tmp_path / "model").exists()
    assert result.last_checkpoint == tmp_path / "checkpoints" / "step-000003"


def test_loss_points_progress_and_periodic_checkpoints(tiny, instruct, tmp_path) -> None:
    logs, progress, saved = [], [], []
    callbacks = Callbacks(
        on_log=lambda step, loss, lr: logs.append((step, loss, lr)),
        on_progress=progress.append,
        on_checkpoint=saved.append,
    )
    run_stage(*tiny, lora_stage(max_steps=7), instruct, tmp_path, log_every=3, checkpoint_every=2,
              callbacks=callbacks, num_threads=THREADS)
    assert [step for step, _, _ in logs] == [3, 6, 7]
    assert all(loss > 0 for _, loss, _ in logs) and logs[-1][2] == 0.0  # cosine ends at 0
    assert [(p.step, p.total_steps) for p in progress] == [(i, 7) for i in range(1, 8)]
    assert all(p.samples_per_s > 0 for p in progress)
    assert [path.name for path in saved] == ["step-000002", "step-000004", "step-000006", "step-000007"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-000006", "step-000007"]


def test_encoder_at_learning_rate_zero_does_not_change(tiny, instruct, tmp_path) -> None:
    stage = dataclasses.replace(template("variant4", "tiny")[2], data=("en_finetune",), max_steps=4, batch_size=4)
    assert stage.vision_tower.mode == "full" and stage.vision_tower.lr == 0
    before = {k: v.clone() for k, v in tiny[0].state_dict().items()}
    after = run_stage(*tiny, stage, instruct, tmp_path, num_threads=THREADS).model.state_dict()
    for name, value in after.items():
        if part_of(name) == "vision_tower":
            assert torch.equal(value, before[name]), name
    assert not torch.equal(after["lm_head.weight"], before["lm_head.weight"])


def test_lora_is_merged_into_the_saved_model(tiny, instruct, tmp_path) -> None:
    result = run_stage(*tiny, lora_stage(max_steps=2, save_adapter=True), instruct, tmp_path, num_threads=THREADS)
    assert not any("lora" in name for name in result.model.state_dict())
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    loaded, _ = load_model(result.model_dir)
    expected = result.model.state_dict()
    assert all(torch.equal(value, expected[name]) for name, value in loaded.state_dict().items())


def test_resuming_another_stage_is_refused(tiny, instruct, tmp_path) -> None:
    cut = run_stage(*tiny, lora_stage(max_steps=1), instruct, tmp_path / "a", num_threads=THREADS)
    other = dataclasses.replace(lora_stage(max_steps=1), name="other")
    with pytest.raises(ValueError, match="checkpoint of stage 'finetune'"):
        run_stage(*tiny, other, instruct, tmp_path / "b", resume_from=cut.last_checkpoint, num_threads=THREADS)


def test_batch_order_covers_each_epoch_once_and_repeats_with_the_seed() -> None:
    lengths = [(i * 37) % 101 for i in range(50)]
    order = BatchOrder(lengths, batch_size=4, seed=3)
    first_epoch = [i for index in range(order.per_epoch) for i in order(index)]
    assert sorted(first_epoch) == list(range(50))
    second_epoch = [i for index in range(order.per_epoch, 2 * order.per_epoch) for i in order(index)]
    assert sorted(second_epoch) == list(range(50)) and second_epoch != first_epoch
    assert [BatchOrder(lengths, 4, 3)(i) for i in range(5)] == [order(i) for i in range(5)]
    spread = [max(lengths[i] for i in order(k)) - min(lengths[i] for i in order(k)) for k in range(order.per_epoch)]
    assert sum(spread) / len(spread) < 40  # grouped by length: far below random batches' ~70


@pytest.mark.parametrize("lora", [False, True])
def test_answer_loss_equals_the_models_own_loss(tiny, instruct, lora) -> None:
    """The loop projects only learned positions to the vocabulary; the value must not change."""
    from peft import LoraConfig, get_peft_model

    from training.data import ConversationCollator
    from training.loop import answer_loss
    from training.recipes import LANGUAGE_MODEL_LINEAR

    model, processor = tiny
    if lora:
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=LANGUAGE_MODEL_LINEAR))
    batch = ConversationCollator(processor, instruct.image_root)([instruct[i] for i in range(6)])
    assert torch.allclose(answer_loss(model, batch), model(**batch).loss, atol=1e-5)
