"""How much GPU memory one training stage needs per GPU, and what to change when it does not fit.

A 7.5B LLaVA fully finetuned with a full model copy, fp32 gradients and both AdamW
moments on every GPU needs ~120 GB per GPU: a job like that should be refused before
it loads anything, with the smallest configuration that would run. `plan` estimates the
per-GPU bytes of one stage; `smallest_fitting` searches for a configuration that fits;
`check_fits` is what job creation calls.

What is counted, per GPU (ranks = nodes × gpus_per_node; b = the stage's global
micro-batch split over the ranks, rounded up; s = sequence length, image tokens included):
- parameters: every parameter in the dtype the model is loaded in (bf16 for a bf16
  stage, as presets.assemble loads the paper preset; fp32 otherwise), divided by the
  ranks when FSDP shards them.
- gradients: the trainable parameters, same dtype (FSDP2 casts reduced gradients back
  to the sharded parameter's dtype), sharded likewise.
- optimizer states: AdamW's two fp32 moments, 8 bytes per trainable parameter, sharded.
- activations, counted tensor by tensor as Korthikanti et al. 2022 ("Reducing
  Activation Recomputation in Large Transformer Models") count a GPT layer
  (s·b·h·(34 + 5·a·s/h) bytes), adapted to a Llama/Mistral decoder layer (grouped KV
  heads, gated MLP, RMSNorm in fp32): per token 8h + e·(6h + 2·h_kv + 4·i) bytes, e the
  compute dtype's size; a SigLIP layer: 8h + e·(6h + 2·i) per image patch (LayerNorm
  inputs in fp32). SDPA's flash / memory-efficient kernels store no s×s scores; with
  eager attention add e·2·a·s per token. LoRA adds, per adapted linear, its rank and
  (with dropout) a dropped copy of the input. With activation checkpointing: every
  layer's input plus one layer's full activations (recomputed in backward). The vision
  tower stores activations only when it trains (its own sequence: image_seq_length
  patches, its own width).
- logits and loss: V·(e + 12) bytes per text token (logits, fp32 log-softmax, two fp32
  gradient buffers); an upper bound, as training.loop.answer_loss projects only the
  learned tokens.
- FSDP working set (sharded only): the root module's parameters (embeddings, lm_head,
  projector: not resharded after forward), two decoder layers' full parameters in the
  compute dtype (the one computing and the one prefetched), and the unsharded gradients
  of the largest trainable layer and of the root (compute dtype + their fp32 copy for
  the fp32 reduce-scatter).
- margin: 1.5 GiB for the CUDA context, cuBLAS workspaces and NCCL buffers, plus 10%
  of the rest for allocator fragmentation and backward's transient buffers.
- CPU offload (FSDP2's CPUOffloadPolicy, sharded only) moves the sharded parameters,
  gradients and optimizer states to host memory (`Plan.host_bytes`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from training.recipes import Lora, Part, Stage, part_of, prepare_model

GIB = 2**30
ADAM_STATE_BYTES = 8  # exp_avg and exp_avg_sq, fp32
CUDA_OVERHEAD_BYTES = int(1.5 * GIB)  # context + cuBLAS workspaces + NCCL buffers, measured typical on H100/A100
FRAGMENTATION = 0.10  # share of the counted bytes kept free for the caching allocator
MAX_GPUS = 64
NODE_GPUS = 8  # GPUs a node holds when the search adds nodes (unless gpus_per_node says more)
_DECODER_LAYER = re.compile(r"model\.language_model\.layers\.(\d+)\.")
_VISION_LAYER = re.compile(r"model\.vision_tower\..*layers\.(\d+)\.")


class MemoryPlanError(ValueError):
    """A stage that cannot fit the GPUs it was given, with what would."""


@dataclass(frozen=True)
class ParameterCount:
    """Exact counts from the model built on the meta device and prepared for the stage."""

    total: int
    trainable: int
    by_part: dict[str, int]  # part -> parameters (LoRA adapters count in the language model)
    trainable_by_part: dict[str, int]
    largest_layer: int  # decoder or vision layer, LoRA adapters included
    largest_trainable_layer: int
    root: int  # parameters outside every decoder and vision layer (FSDP's root unit)
    root_trainable: int
    lora_rank_elements: int  # per token and decoder layer: sum of adapter ranks
    lora_dropout_inputs: int  # per token and decoder layer: dropped input copies (dropout > 0)


_COUNTS: dict[tuple[str, tuple[Any, ...]], ParameterCount] = {}


def _freezing(stage: Stage) -> tuple[Any, ...]:
    """What decides which parameters exist and train (not rates or batch sizes)."""
    return tuple((p.mode, p.trains) for p in stage.parts().values()) + (stage.lora,)


def count_parameters(config: Any, stage: Stage) -> ParameterCount:
    """Count a LlavaConfig's parameters as recipes.prepare_model leaves them for `stage`.

    The model is built on the meta device (no memory, ~1 s for 7B with LoRA); results
    are cached per configuration and freezing pattern.
    """
    key = (config.to_json_string(use_diff=False), _freezing(stage))
    if key not in _COUNTS:
        import torch
        from transformers import LlavaForConditionalGeneration

        with torch.device("meta"):
            model, _ = prepare_model(LlavaForConditionalGeneration(config), stage)
        _COUNTS[key] = _count(model, stage)
    return _COUNTS[key]


def _count(model: Any, stage: Stage) -> ParameterCount:
    by_part: dict[str, int] = {}
    trainable_by_part: dict[str, int] = {}
    layers: dict[tuple[str, int], list[int]] = {}
    root = root_trainable = 0
    for name, parameter in model.named_parameters():
        n, trains = parameter.numel(), parameter.requires_grad
        part = part_of(name)
        by_part[part] = by_part.get(part, 0) + n
        trainable_by_part[part] = trainable_by_part.get(part, 0) + (n if trains else 0)
        match = _DECODER_LAYER.search(name) or _VISION_LAYER.search(name)
        if match:
            kind = "decoder" if match.re is _DECODER_LAYER else "vision"
            sizes = layers.setdefault((kind, int(match.group(1))), [0, 0])
            sizes[0] += n
            sizes[1] += n if trains else 0
        else:
            root += n
            root_trainable += n if trains else 0
    rank_elements = dropout_inputs = 0
    dropout = stage.lora.dropout if stage.lora else 0.0
    for name, module in model.named_modules():
        # One decoder layer's adapters: the activations formula multiplies by the layer count.
        if ".language_model.layers.0." in name and hasattr(module, "lora_A") and "default" in module.lora_A:
            rank_elements += module.lora_A["default"].out_features
            dropout_inputs += module.lora_A["default"].in_features if dropout > 0 else 0
    return ParameterCount(
        total=sum(by_part.values()), trainable=sum(trainable_by_part.values()),
        by_part=by_part, trainable_by_part=trainable_by_part,
        largest_layer=max((s[0] for s in layers.values()), default=0),
        largest_trainable_layer=max((s[1] for s in layers.values()), default=0),
        root=root, root_trainable=root_trainable,
        lora_rank_elements=rank_elements, lora_dropout_inputs=dropout_inputs,
    )


@dataclass(frozen=True)
class Plan:
    """Per-GPU bytes of one stage on one configuration."""

    stage: str
    nodes: int
    gpus_per_node: int
    gpu_memory_bytes: int
    sharding: bool
    cpu_offload: bool
    checkpointing: bool
    micro_batch_per_gpu: int
    sequence_length: int
    weight_bytes: int
    parameters: ParameterCount
    components: dict[str, int]  # name -> bytes per GPU, in table order
    margin: int
    host_bytes: int  # per GPU, offloaded to host memory

    @property
    def ranks(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def total(self) -> int:
        return sum(self.components.values()) + self.margin

    @property
    def fits(self) -> bool:
        return self.total <= self.gpu_memory_bytes

    @property
    def biggest(self) -> tuple[str, int]:
        return max(self.components.items(), key=lambda item: item[1])

    def setup(self) -> str:
        """The configuration in words: '8 GPUs (1 node × 8), FSDP, micro-batch 2 per GPU'."""
        nodes = "node" if self.nodes == 1 else "nodes"
        words = [f"{self.ranks} GPU{'s' if self.ranks > 1 else ''} ({self.nodes} {nodes} × {self.gpus_per_node})"]
        words.append("FSDP sharded" if self.sharding else "replicated")
        if self.cpu_offload:
            words.append("CPU offload")
        words.append(f"micro-batch {self.micro_batch_per_gpu} per GPU × {self.sequence_length} tokens")
        words.append("activation checkpointing" if self.checkpointing else "no activation checkpointing")
        return ", ".join(words)

    def table(self) -> str:
        p = self.parameters
        lines = [
            f"stage {self.stage}: {_number(p.total)} parameters, {_number(p.trainable)} trainable",
            f"  {self.setup()}",
        ]
        for name, value in self.components.items():
            lines.append(f"  {name:<44}{_size(value)}")
        lines.append(f"  {'margin (1.5 GiB CUDA + 10% allocator)':<44}{_size(self.margin)}")
        lines.append(f"  {'total per GPU':<44}{_size(self.total)} of {self.gpu_memory_bytes / GIB:g} GiB")
        if self.host_bytes:
            lines.append(f"  {'host memory per GPU (offloaded)':<44}{_size(self.host_bytes)}")
        lines.append(f"  {'fits' if self.fits else 'does not fit'}")
        return "\n".join(lines)


def _number(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.2f}M"


def _size(n: int) -> str:
    return f"{n / GIB:>9.2f} GiB" if n >= GIB else f"{n / 2**20:>9.1f} MiB"


def default_weight_bytes(stage: Stage) -> int:
    """bf16 stages run a model loaded in bf16 (presets.assemble); others keep fp32 (tiny)."""
    return 2 if stage.bf16 else 4


def plan(
    config: Any,
    stage: Stage,
    *,
    sequence_length: int,
    nodes: int = 1,
    gpus_per_node: int = 1,
    gpu_memory_gib: float = 80,
    sharding: bool = True,
    cpu_offload: bool = False,
    weight_bytes: int | None = None,
    device: str = "cuda",
    eager_attention: bool = False,
) -> Plan:
    """Per-GPU memory of `stage` (see the module docstring for every formula).

    `device="cpu"` drops the CUDA context from the margin (for comparing with a CPU run);
    `eager_attention` counts the s×s attention scores SDPA's fused kernels do not store.
    """
    if nodes < 1 or gpus_per_node < 1 or gpu_memory_gib <= 0:
        raise ValueError(f"nodes ({nodes}), gpus_per_node ({gpus_per_node}) and gpu memory ({gpu_memory_gib}) must be positive")
    if cpu_offload and not sharding:
        raise ValueError("CPU offload needs FSDP sharding (FSDP2's CPUOffloadPolicy offloads the shards)")
    image_tokens = config.image_seq_length
    if sequence_length <= image_tokens:
        raise ValueError(f"sequence length {sequence_length} leaves no text after the {image_tokens} image tokens")
    counts = count_parameters(config, stage)
    ranks = nodes * gpus_per_node
    shards = ranks if sharding else 1
    weight = weight_bytes or default_weight_bytes(stage)
    compute = 2 if stage.bf16 else 4
    batch = math.ceil(stage.batch_size / ranks)
    states = {
        f"parameters ({_dtype(weight)}{', sharded /%d' % shards if sharding else ''})": counts.total * weight // shards,
        "gradients": counts.trainable * weight // shards,
        "optimizer states (AdamW m, v in fp32)": counts.trainable * ADAM_STATE_BYTES // shards,
    }
    host = sum(states.values()) if cpu_offload else 0
    components = {name: 0 if cpu_offload else value for name, value in states.items()}
    checkpoint = "checkpointed" if stage.gradient_checkpointing else "all layers stored"
    components[f"activations ({checkpoint})"] = activation_bytes(
        config, stage, counts, sequence_length=sequence_length, batch=batch, eager_attention=eager_attention
    )
    components["logits and loss (every text token)"] = loss_bytes(config, stage, sequence_length, batch)
    if sharding:
        gathered = (counts.root + 2 * counts.largest_layer) * compute
        unsharded_grads = (counts.root_trainable + counts.largest_trainable_layer) * (compute + 4)
        components["FSDP working set (gathered layers, grads)"] = gathered + unsharded_grads
    counted = sum(components.values())
    margin = int(FRAGMENTATION * counted) + (CUDA_OVERHEAD_BYTES if device == "cuda" else 0)
    return Plan(
        stage=stage.name, nodes=nodes, gpus_per_node=gpus_per_node, gpu_memory_bytes=int(gpu_memory_gib * GIB),
        sharding=sharding, cpu_offload=cpu_offload, checkpointing=stage.gradient_checkpointing,
        micro_batch_per_gpu=batch, sequence_length=sequence_length, weight_bytes=weight, parameters=counts,
        components=components, margin=margin, host_bytes=host,
    )


def _dtype(size: int) -> str:
    return {2: "bf16", 4: "fp32"}.get(size, f"{size} bytes")


def activation_bytes(
    config: Any, stage: Stage, counts: ParameterCount, *, sequence_length: int, batch: int, eager_attention: bool = False
) -> int:
    """Stored activations of one micro-batch on one GPU (formulas in the module docstring)."""
    e = 2 if stage.bf16 else 4
    text = config.text_config
    h, layers, heads = text.hidden_size, text.num_hidden_layers, text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or h // heads
    h_kv, i = text.num_key_value_heads * head_dim, text.intermediate_size
    s, tokens = sequence_length, sequence_length * batch
    per_token = 8 * h + e * (6 * h + 2 * h_kv + 4 * i)
    per_token += e * counts.lora_rank_elements + (e + 1) * counts.lora_dropout_inputs  # +1: dropout's bool mask
    per_token += e * 2 * heads * s if eager_attention else 0
    language = _stack(per_token, layer_input=e * h, layers=layers, tokens=tokens, checkpointed=stage.gradient_checkpointing)
    vision_config = config.vision_config
    hv, iv, patches = vision_config.hidden_size, vision_config.intermediate_size, config.image_seq_length * batch
    vision = projector = 0
    if stage.vision_tower.trains:
        per_patch = 8 * hv + e * (6 * hv + 2 * iv)
        per_patch += e * 2 * vision_config.num_attention_heads * config.image_seq_length if eager_attention else 0
        vision = _stack(per_patch, layer_input=e * hv, layers=vision_config.num_hidden_layers,
                        tokens=patches, checkpointed=stage.gradient_checkpointing)
    if stage.vision_tower.trains or stage.projector.trains:
        projector = patches * e * (hv + 2 * h)  # input, first linear's output, GELU's output
    return language + vision + projector


def loss_bytes(config: Any, stage: Stage, sequence_length: int, batch: int) -> int:
    """Logits of every text token in the compute dtype, their fp32 log-softmax and two
    fp32 gradient buffers in backward: an upper bound, as answer_loss projects only
    learned tokens (a caption stage learns a few dozen per sample)."""
    e = 2 if stage.bf16 else 4
    text_tokens = (sequence_length - config.image_seq_length) * batch
    return text_tokens * config.text_config.vocab_size * (e + 12)


def _stack(per_token: int, *, layer_input: int, layers: int, tokens: int, checkpointed: bool) -> int:
    """A stack of identical layers: all stored, or every layer's input plus one recomputed layer."""
    if checkpointed:
        return tokens * (layers * layer_input + per_token)
    return tokens * layers * per_token


# --- finding a configuration that fits ----------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """The first configuration found that fits, and how it differs from the one asked for."""

    changes: tuple[str, ...]
    stage: Stage
    plan: Plan

    def describe(self) -> str:
        return f"{'; '.join(self.changes)} ({self.plan.total / GIB:.1f} GiB per GPU)"


def _gpu_counts(nodes: int, gpus_per_node: int, max_gpus: int) -> list[tuple[int, int]]:
    """The given (nodes, gpus_per_node), then powers of two above it: one node up to
    NODE_GPUS (or gpus_per_node if larger), then whole nodes of that size."""
    result = [(nodes, gpus_per_node)]
    per_node, count = max(gpus_per_node, NODE_GPUS), 1
    while count <= max_gpus:
        option = (1, count) if count <= per_node else (math.ceil(count / per_node), per_node)
        if option[0] * option[1] > nodes * gpus_per_node and option not in result:
            result.append(option)
        count *= 2
    return result


def _stage_variants(stage: Stage, ranks: int) -> list[tuple[Stage, tuple[str, ...]]]:
    """Same experiment, less memory: checkpointing, then smaller micro-batches with more
    accumulation (same samples per optimizer step), down to one sample per GPU."""
    variants = [(stage, ())]
    base, notes = stage, ()
    if not stage.gradient_checkpointing:
        base, notes = dataclasses.replace(stage, gradient_checkpointing=True), ("activation checkpointing",)
        variants.append((base, notes))
    batch, per_step = base.batch_size, base.batch_size * base.gradient_accumulation
    while math.ceil(batch / ranks) > 1:
        batch = max(ranks, batch // 2)
        accumulation = math.ceil(per_step / batch)
        note = (f"global micro-batch {stage.batch_size} -> {batch}, gradient accumulation "
                f"{stage.gradient_accumulation} -> {accumulation} (same samples per step)")
        variants.append((dataclasses.replace(base, batch_size=batch, gradient_accumulation=accumulation), notes + (note,)))
    return variants


def smallest_fitting(
    config: Any,
    stage: Stage,
    *,
    sequence_length: int,
    nodes: int = 1,
    gpus_per_node: int = 1,
    gpu_memory_gib: float = 80,
    sharding: bool = True,
    cpu_offload: bool = False,
    max_gpus: int = MAX_GPUS,
    **options: Any,
) -> Suggestion | None:
    """The first configuration that fits, searching from the least to the most disruptive:

    1. on the GPUs given: activation checkpointing, smaller micro-batches (more
       accumulation), FSDP sharding if it was off;
    2. more GPUs (powers of two up to `max_gpus`, whole nodes past one), each with the
       levers of step 1;
    3. CPU offload of the shards (slow: the optimizer steps on the CPU), GPUs as in 2;
    4. LoRA instead of full finetuning of the language model (changes the experiment).
    None when nothing up to `max_gpus` fits.
    """
    lora_variants: list[tuple[Stage, tuple[str, ...]]] = [(stage, ())]
    if stage.language_model.mode == "full" and stage.language_model.trains:
        lora_stage = dataclasses.replace(stage, language_model=Part("lora", 2e-4), lora=Lora())
        lora_variants.append((lora_stage, ("LoRA r=128 instead of full finetuning of the language model (changes the experiment)",)))
    offloads = [cpu_offload] if cpu_offload else [False, True]
    for candidate, lora_notes in lora_variants:
        for offload in offloads:
            for n, g in _gpu_counts(nodes, gpus_per_node, max_gpus):
                here = (n, g) == (nodes, gpus_per_node)
                shardings = [False, True] if here and not sharding and not offload else [True]
                for sharded in shardings:
                    for variant, notes in _stage_variants(candidate, n * g):
                        result = plan(config, variant, sequence_length=sequence_length, nodes=n, gpus_per_node=g,
                                      gpu_memory_gib=gpu_memory_gib, sharding=sharded, cpu_offload=offload, **options)
                        if result.fits:
                            changes = lora_notes + notes
                            if (n, g) != (nodes, gpus_per_node):
                                changes = (f"{n * g} GPUs ({n} node{'s' if n > 1 else ''} × {g})",) + changes
                            if sharded and not sharding:
                                changes += ("FSDP sharding",)
                            if offload and not cpu_offload:
                                changes += ("CPU offload of parameters, gradients and optimizer states (slow)",)
                            return Suggestion(changes or ("as given",), variant, result)
    return None


def check_fits(
    config: Any,
    stages: list[Stage],
    *,
    nodes: int,
    gpus_per_node: int,
    gpu_memory_gib: float,
    sequence_length: int,
    sharding: bool = True,
    cpu_offload: bool = False,
    weight_bytes: int | None = None,
) -> None:
    """Raise MemoryPlanError for the first stage that cannot fit, naming what would."""
    hardware = dict(nodes=nodes, gpus_per_node=gpus_per_node, gpu_memory_gib=gpu_memory_gib,
                    sharding=sharding, cpu_offload=cpu_offload)
    for stage in stages:
        result = plan(config, stage, sequence_length=sequence_length, weight_bytes=weight_bytes, **hardware)
        if result.fits:
            continue
        raise MemoryPlanError(refusal(config, stage, result, weight_bytes=weight_bytes))


def refusal(config: Any, stage: Stage, result: Plan, *, weight_bytes: int | None = None) -> str:
    """Why `result` does not fit and the smallest configuration that does, in one message."""
    name, size = result.biggest
    suggestion = smallest_fitting(
        config, stage, sequence_length=result.sequence_length, nodes=result.nodes,
        gpus_per_node=result.gpus_per_node, gpu_memory_gib=result.gpu_memory_bytes / GIB,
        sharding=result.sharding, cpu_offload=result.cpu_offload, weight_bytes=weight_bytes,
    )
    fix = f"smallest configuration that fits: {suggestion.describe()}" if suggestion else f"nothing up to {MAX_GPUS} GPUs fits"
    return (
        f"stage {stage.name!r} needs {result.total / GIB:.1f} GiB per GPU but the GPUs have "
        f"{result.gpu_memory_bytes / GIB:g} GiB ({result.setup()}); biggest part: {name} "
        f"{size / GIB:.1f} GiB; {fix}"
    )
