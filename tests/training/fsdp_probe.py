"""Train the tiny preset's three kinds of stage and write what was seen, as JSON (run by test_fsdp_parity.py).

    python tests/training/fsdp_probe.py WORLD OUT [--resume-from CHECKPOINT_DIR_OF_A_RUN]
    torchrun --standalone --nproc_per_node 2 tests/training/fsdp_probe.py WORLD OUT

Stages: a full one, a LoRA one, one with a frozen part (variant 4's vision tower at
lr 0), each STEPS steps of global batch 4, a loss point every step, a checkpoint at
step RESUME_AT. `--resume-from RUN` resumes each stage from RUN's step-RESUME_AT
checkpoint, on however many ranks this run has. The report also says how many
parameter and AdamW-state elements a rank holds once the model is sharded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import torch

from training.data import ConversationCollator, ConversationDataset
from training.loop import Callbacks, run_stage
from training.parallelize import AnswerLoss, local_numel, shard, world
from training.presets import build_tiny
from training.recipes import Stage, parameter_groups, prepare_model, template

STEPS = 20
RESUME_AT = 10


def stages() -> dict[str, Stage]:
    small = {"data": ("en_finetune",), "max_steps": STEPS, "batch_size": 4, "warmup_ratio": 0.1}
    return {
        "full": dataclasses.replace(template("english_base", "tiny")[1], **small),
        "lora": dataclasses.replace(template("variant2", "tiny")[1], **small),
        "frozen": dataclasses.replace(template("variant4", "tiny")[2], **small),
    }


def held_elements(corpus: Path, dataset: ConversationDataset, stage: Stage) -> dict[str, int]:
    """Parameters and AdamW states on this rank after one step, sharded when there are several ranks."""
    model, processor = build_tiny(corpus)
    model, _ = prepare_model(model, stage)
    module = AnswerLoss(model)
    if world()[1] > 1:
        module = shard(module, bf16=False, device=torch.device("cpu"))
    optimizer = torch.optim.AdamW(parameter_groups(module, stage, prefix="model."))
    batch = ConversationCollator(processor, dataset.image_root)([dataset[i] for i in range(2)])
    loss_sum, _ = module(**batch)
    loss_sum.backward()
    optimizer.step()
    states = [t for state in optimizer.state.values() for t in state.values() if t.dim() > 0]
    return {
        "parameters": local_numel(module),
        "optimizer": sum((t.to_local() if hasattr(t, "to_local") else t).numel() for t in states),
    }


def main(argv: list[str]) -> None:
    world_dir, out = Path(argv[0]), Path(argv[1])
    resume = Path(argv[argv.index("--resume-from") + 1]) if "--resume-from" in argv else None
    if "RANK" in os.environ:
        torch.distributed.init_process_group("gloo")
    torch.set_num_threads(1)
    corpus = world_dir / "corpus" / "english.txt"
    dataset = ConversationDataset.from_json(world_dir / "llava" / "llava_instruct.json", world_dir / "images")
    report: dict[str, object] = {"ranks": world()[1]}
    for name, stage in stages().items():
        losses: list[tuple[int, float]] = []
        callbacks = Callbacks(on_log=lambda step, loss, lr, into=losses: into.append((step, loss)))
        start = resume / name / "checkpoints" / f"step-{RESUME_AT:06d}" if resume else None
        result = run_stage(*build_tiny(corpus), stage, dataset, out / name, callbacks=callbacks, log_every=1,
                           num_threads=1, resume_from=start, checkpoint_every=RESUME_AT)  # fmt: skip
        report[name] = {"losses": losses, "steps": result.steps, "stopped": result.stopped}
    report["held"] = held_elements(corpus, dataset, stages()["full"])
    if world()[0] == 0:
        (out / "report.json").write_text(json.dumps(report))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
