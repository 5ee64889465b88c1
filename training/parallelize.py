"""How a model is spread over the processes of a job: PyTorch FSDP2, as torchtitan's `parallelize` does.

With one process the model trains as it is. With several (torchrun: one process per
GPU, on one node or many), `shard` wraps it with `fully_shard`: each language-model
decoder layer and each vision-encoder layer is its own unit, then the root holds the
rest (embeddings, projector, heads, norms). Parameters, gradients and AdamW states are
then sharded over every rank; a unit's full parameters exist only while it computes.
FSDP2 averages gradients with a reduce-scatter, so no collective is written here.

On CUDA with a bf16 stage, units compute in bf16 and reduce gradients in fp32
(`MixedPrecisionPolicy`); the sharded parameters stay in the dtype the model was
loaded in. Frozen parts, LoRA adapters and per-part learning rates need nothing
special: FSDP2 keeps each parameter's `requires_grad`, and the optimizer's groups are
built from the sharded parameters by name (`recipes.parameter_groups`).
"""

from __future__ import annotations

from typing import Any

import torch

from training.data import IGNORE_INDEX


def world() -> tuple[int, int]:
    """(rank, world size): (0, 1) unless torchrun started us (training/distributed.py)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def llava_core(model: Any) -> Any:
    """The LlavaForConditionalGeneration inside a PEFT wrapper (LoRA layers stay in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decoder_layers(model: Any) -> list[torch.nn.Module]:
    return list(llava_core(model).model.language_model.layers)


def vision_layers(model: Any) -> list[torch.nn.Module]:
    tower = llava_core(model).model.vision_tower
    encoder = tower.vision_model.encoder if hasattr(tower, "vision_model") else tower.encoder
    return list(encoder.layers)


class AnswerLoss(torch.nn.Module):
    """The training objective as a module, so that FSDP's root is the module the loop calls.

    Returns (sum of cross-entropy over the learned tokens, their number). The loss is
    projected to the vocabulary only where a token is learned: LLaVA learns the answers
    alone, and image, prompt and padding are ~95% of a tiny-world sequence, so full
    logits were a third of a step on CPU (and a 128k-vocabulary model's largest
    activation on GPU). The root must call the submodules itself: calling
    `core.model(...)` from outside would skip the root unit's hooks, which gather the
    embeddings, projector and head.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, pixel_values, labels) -> tuple[torch.Tensor, torch.Tensor]:
        core = llava_core(self.model)
        hidden = core.model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values)[0]
        targets = labels[:, 1:]
        learned = targets != IGNORE_INDEX
        logits = core.lm_head(hidden[:, :-1][learned])
        loss_sum = torch.nn.functional.cross_entropy(logits.float(), targets[learned], reduction="sum")
        return loss_sum, learned.sum()


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's own loss (mean cross-entropy over the learned tokens), computed as AnswerLoss does."""
    loss_sum, count = AnswerLoss(model)(batch["input_ids"], batch["attention_mask"], batch["pixel_values"],
                                        batch["labels"])  # fmt: skip
    return loss_sum / count


def mixed_precision(bf16: bool, device: torch.device) -> Any:
    from torch.distributed.fsdp import MixedPrecisionPolicy

    if bf16 and device.type == "cuda":
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    return MixedPrecisionPolicy()  # CPU: bf16 gave no speed-up (measured), and gloo reduces fp32 best


def shard(module: AnswerLoss, *, bf16: bool, device: torch.device, cpu_offload: bool = False) -> AnswerLoss:
    """`fully_shard` every decoder and vision-encoder layer, then the root, over all ranks.

    `cpu_offload` keeps the parameter, gradient and AdamW shards in host memory (FSDP2's
    CPUOffloadPolicy; the optimizer then steps on the CPU): what lets a full finetune of
    the paper preset fit where its plan does not (training/memory_plan.py)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import CPUOffloadPolicy, OffloadPolicy, fully_shard

    _, size = world()
    mesh = init_device_mesh(device.type, (size,))
    options = {"mesh": mesh, "mp_policy": mixed_precision(bf16, device),
               "offload_policy": CPUOffloadPolicy() if cpu_offload else OffloadPolicy()}  # fmt: skip
    layers = vision_layers(module.model) + decoder_layers(module.model)
    for index, layer in enumerate(layers):
        # The last layer's parameters are needed again at once by backward: keep them gathered.
        fully_shard(layer, reshard_after_forward=index < len(layers) - 1, **options)
    fully_shard(module, **options)
    return module


def local_numel(module: torch.nn.Module, *, trainable_only: bool = False) -> int:
    """Elements this rank holds: its shards under FSDP, everything without it."""
    total = 0
    for parameter in module.parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        local = parameter.to_local() if hasattr(parameter, "to_local") else parameter
        total += local.numel()
    return total
