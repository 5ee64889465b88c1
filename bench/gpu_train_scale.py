"""The body of bench/gpu_train_scale.sh: the paper's shape, three stages, tokens/s, MFU, peak memory.

Runs the training step of training/loop.py on synthetic batches (random token ids with
729 image tokens, random pixels, answers on the last quarter of the text): the same
model preparation (recipes.prepare_model), loss module and FSDP2 sharding
(training/parallelize.py), optimizer groups and clipping. One process forms a process
group of its own, so FSDP (and CPU offload) apply on one GPU as on many.

MFU counts the model FLOPs a step needs, not 6 × parameters for every stage: 2N per
token forward over every part (the vision tower and projector per image patch) plus
attention (4·s·d per layer); the same again backward for the parts the gradient crosses
(language model and projector; the vision tower only when it trains); 2N per token for
the weight gradients of the parameters that train.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import torch
from transformers import AutoConfig, LlavaConfig, LlavaForConditionalGeneration, SiglipVisionConfig

from training.parallelize import AnswerLoss, shard, world
from training.presets import paper_config
from training.recipes import Stage, parameter_groups, part_of, prepare_model, template

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12}  # dense, per GPU
SEQUENCE = {"pretrain": 800, "lora": 2048, "full": 2048}  # LLaVA-1.5: short captions; model_max_length 2048
# Per-GPU micro-batches, from the memory plan (training/memory_plan.py) with room to spare on 80 GB:
# checkpointed activations are ~0.5 GiB per 2048-token sample; the full stage offloads its shards.
BATCH = {"pretrain": 8, "lora": 4, "full": 2}


def shrunk_config() -> LlavaConfig:
    """The paper's structure at toy widths (dry run): Mistral + SigLIP, 2 layers each."""
    vision = SiglipVisionConfig(image_size=56, patch_size=14, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=64, vision_use_head=False)
    text = AutoConfig.for_model("mistral", vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=2, intermediate_size=128, max_position_embeddings=2048,
                                tie_word_embeddings=False)
    return LlavaConfig(vision_config=vision, text_config=text, image_token_index=511, image_seq_length=16,
                       vision_feature_select_strategy="full", vision_feature_layer=-2)


def stages(names: list[str], steps: int) -> dict[str, Stage]:
    chosen = {"pretrain": template("variant2", "paper")[0], "lora": template("variant2", "paper")[1],
              "full": template("english_base", "paper")[1]}
    unknown = sorted(set(names) - set(chosen))
    if unknown:
        sys.exit(f"gpu_train_scale: unknown stage {', '.join(unknown)}; expected some of {', '.join(chosen)}")
    return {name: dataclasses.replace(chosen[name], max_steps=steps, gradient_accumulation=1) for name in names}


def batch_for(config: LlavaConfig, sequence: int, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    image_tokens = config.image_seq_length
    text = sequence - image_tokens
    ids = torch.randint(0, config.image_token_index - 1, (batch, text), generator=generator)
    ids = torch.cat([ids[:, :1], torch.full((batch, image_tokens), config.image_token_index), ids[:, 1:]], dim=1)
    labels = torch.full_like(ids, -100)
    labels[:, -text // 4 :] = ids[:, -text // 4 :]
    size = config.vision_config.image_size
    return {
        "input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device), "labels": labels.to(device),
        "pixel_values": torch.randn(batch, 3, size, size, generator=generator).to(device, torch.bfloat16),
    }  # fmt: skip


def flops_per_sample(config: LlavaConfig, model: torch.nn.Module, stage: Stage, sequence: int) -> float:
    """Model FLOPs of one sample's training step (see the module docstring)."""
    total = {"vision_tower": 0, "projector": 0, "language_model": 0}
    trains = dict(total)
    for name, parameter in model.named_parameters():
        part = part_of(name)
        total[part] += parameter.numel()
        trains[part] += parameter.numel() if parameter.requires_grad else 0
    text, vision, patches = config.text_config, config.vision_config, config.image_seq_length
    tokens = {"language_model": sequence, "vision_tower": patches, "projector": patches}
    attention = {"language_model": 4 * text.num_hidden_layers * sequence * text.hidden_size * sequence,
                 "vision_tower": 4 * vision.num_hidden_layers * patches * vision.hidden_size * patches, "projector": 0}
    forward = {part: 2 * total[part] * tokens[part] + attention[part] for part in total}
    crossed = ["language_model", "projector"] + (["vision_tower"] if stage.vision_tower.trains else [])
    backward_activations = sum(forward[part] for part in crossed)
    backward_weights = sum(2 * trains[part] * tokens[part] for part in total)
    return sum(forward.values()) + backward_activations + backward_weights


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true", help="CPU, 2 steps, the shapes shrunk")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=0, help="per-GPU micro-batch (0: BATCH's per stage)")
    parser.add_argument("--stages", default="pretrain,lora,full")
    parser.add_argument("--offload", choices=("auto", "on", "off"), default="auto",
                        help="CPU offload of the full stage's shards (auto: when one GPU has under 100 GiB)")
    args = parser.parse_args()
    if not args.dry_run and not torch.cuda.is_available():
        sys.exit("gpu_train_scale: no CUDA device (use --dry-run on a CPU machine)")
    device = torch.device("cpu" if args.dry_run else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    if not torch.distributed.is_initialized():
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29511")
        os.environ.setdefault("RANK", "0")
        os.environ.setdefault("WORLD_SIZE", "1")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("gloo" if args.dry_run else "nccl")
    rank, size = world()
    config = shrunk_config() if args.dry_run else paper_config()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (dry run)"
    peak = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
    memory_gib = torch.cuda.get_device_properties(device).total_memory / 2**30 if device.type == "cuda" else 0
    steps = 2 if args.dry_run else args.steps
    if rank == 0:
        print(f"gpu_train_scale: {gpu}, {size} rank{'s' if size > 1 else ''}, {steps} steps per stage")
    for name, stage in stages(args.stages.split(","), steps).items():
        batch = 2 if args.dry_run else args.batch or BATCH[name]
        sequence = 64 if args.dry_run else SEQUENCE[name]
        offload = name == "full" and (args.offload == "on" or (args.offload == "auto" and 0 < memory_gib < 100))
        torch.manual_seed(0)
        with torch.device(device):
            model = LlavaForConditionalGeneration(config).to(torch.bfloat16)
        model, _ = prepare_model(model, stage)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
        flops = flops_per_sample(config, model, stage, sequence)
        if offload:
            model.to("cpu")
        module = shard(AnswerLoss(model), bf16=True, device=device, cpu_offload=offload)
        optimizer = torch.optim.AdamW(parameter_groups(module, stage, prefix="model."), fused=False)
        trained = [p for group in optimizer.param_groups for p in group["params"]]
        data = batch_for(config, sequence, batch, device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            torch.cuda.synchronize(device)
        timings = []
        for step in range(steps):
            started = time.perf_counter()
            loss_sum, count = module(**data)
            (loss_sum / count).backward()
            torch.nn.utils.clip_grad_norm_(trained, stage.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            timings.append(time.perf_counter() - started)
        measured = timings[2:] if len(timings) > 4 else timings  # the first steps warm up kernels and the allocator
        per_step = sum(measured) / len(measured)
        tokens = batch * sequence * size / per_step
        mfu = f"{100 * flops * batch / per_step / peak:.1f}%" if peak else "n/a (unknown peak)"
        memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0
        if rank == 0:
            print(f"{name}: {steps} steps, {per_step:.3f} s/step, {tokens:.0f} tokens/s, MFU {mfu}, "
                  f"peak GPU memory {memory:.1f} GiB, micro-batch {batch} × {sequence} tokens per rank"
                  f"{', CPU offload' if offload else ''}", flush=True)
        del module, model, optimizer, trained
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if rank == 0:
        print("gpu_train_scale: ok")
    torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
