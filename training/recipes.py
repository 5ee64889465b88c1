"""Training recipes: what one stage trains, how fast, on which data; and the study's templates.

A stage says, for each part of the model (vision tower, projector, language model),
whether it trains fully, through LoRA adapters (language model only) or not at all,
and at which learning rate. `prepare_model` applies that to a model: it freezes,
wraps LoRA, and returns the optimizer's parameter groups. A part with lr 0 is frozen
outright: AdamW's decoupled weight decay would otherwise still shrink its weights.

Defaults follow LLaVA-1.5 (projector pretraining 1e-3; LoRA r=128, alpha=256, lr 2e-4
with projector 2e-5; full finetuning 2e-5; warmup 3%, cosine, no weight decay). The
tiny preset has no pretrained encoder, so its templates train everything at the
measured 1e-3 (shared/notes/tiny-vlm-measurements.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


MODES: tuple[str, ...] = ("full", "lora", "frozen")
PARTS: tuple[str, ...] = ("vision_tower", "projector", "language_model")
DATA_ROLES: tuple[str, ...] = ("en_pretrain", "en_finetune", "fr_pretrain", "fr_finetune")
TEMPLATES: tuple[str, ...] = ("english_base", "variant2", "variant3", "variant4")
PRESETS: tuple[str, ...] = ("tiny", "paper")  # the names presets.py builds

# Parameter names of LlavaForConditionalGeneration (transformers 5) -> part.
_PART_PREFIXES: dict[str, tuple[str, ...]] = {
    "vision_tower": ("model.vision_tower.",),
    "projector": ("model.multi_modal_projector.",),
    "language_model": ("model.language_model.", "lm_head."),
}
# LoRA targets: every linear layer of the language model's blocks, matched as a full
# module name. A plain ["q_proj", "v_proj"] would also hit SigLIP's attention.
LANGUAGE_MODEL_LINEAR = r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"


class RecipeError(ValueError):
    """A stage or template that cannot run, with what is wrong and where."""


@dataclass(frozen=True)
class Part:
    mode: str = "frozen"
    lr: float = 0.0

    @property
    def trains(self) -> bool:
        return self.mode != "frozen" and self.lr > 0


@dataclass(frozen=True)
class Lora:
    r: int = 128
    alpha: int = 256
    dropout: float = 0.05
    target_modules: str = LANGUAGE_MODEL_LINEAR


@dataclass(frozen=True)
class Stage:
    name: str
    data: tuple[str, ...]  # DATA_ROLES entries, mixed; the Django layer maps each to a snapshot
    vision_tower: Part = Part()
    projector: Part = Part()
    language_model: Part = Part()
    lora: Lora | None = None  # required when language_model.mode == "lora"
    epochs: float = 1.0
    max_steps: int | None = None  # optimizer steps; overrides epochs
    batch_size: int = 16  # per optimizer micro-step
    gradient_accumulation: int = 1
    group_by_length: bool = True  # batches of similar lengths (LLaVA's group_by_modality_length)
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    bf16: bool = False  # autocast on CUDA only; ignored on CPU
    gradient_checkpointing: bool = False
    save_adapter: bool = False  # also write the LoRA adapter alone (the merged model is always saved)
    seed: int = 0

    def __post_init__(self) -> None:
        validate(self)

    def parts(self) -> dict[str, Part]:
        return {name: getattr(self, name) for name in PARTS}


def validate(stage: Stage) -> None:
    where = f"stage {stage.name!r}"
    if not isinstance(stage.data, tuple) or not stage.data:
        raise RecipeError(f"{where}: data must be a non-empty tuple of data roles, got {stage.data!r}")
    for role in stage.data:
        if role not in DATA_ROLES:
            raise RecipeError(f"{where}: unknown data role {role!r}; expected one of {', '.join(DATA_ROLES)}")
    for name, part in stage.parts().items():
        if part.mode not in MODES:
            raise RecipeError(f"{where}: {name} mode {part.mode!r}; expected one of {', '.join(MODES)}")
        if part.lr < 0:
            raise RecipeError(f"{where}: {name} has a negative learning rate ({part.lr})")
        if part.mode == "frozen" and part.lr != 0:
            raise RecipeError(f"{where}: {name} is frozen but has learning rate {part.lr}")
        if part.mode == "lora" and name != "language_model":
            raise RecipeError(f"{where}: LoRA on the {name}: adapters go on the language model only")
    if stage.language_model.mode == "lora" and stage.lora is None:
        raise RecipeError(f"{where}: language_model is 'lora' but the stage has no LoRA settings")
    if stage.lora is not None and stage.language_model.mode != "lora":
        raise RecipeError(f"{where}: LoRA settings given but the language model is {stage.language_model.mode!r}")
    if stage.lora is not None and (stage.lora.r <= 0 or not 0 <= stage.lora.dropout < 1):
        raise RecipeError(f"{where}: LoRA needs r > 0 and 0 <= dropout < 1, got {stage.lora}")
    if not any(part.trains for part in stage.parts().values()):
        raise RecipeError(f"{where}: nothing trains (every part frozen or at learning rate 0)")
    if stage.batch_size < 1 or stage.gradient_accumulation < 1:
        raise RecipeError(f"{where}: batch_size and gradient_accumulation must be at least 1")
    if stage.max_steps is None and stage.epochs <= 0 or stage.max_steps is not None and stage.max_steps < 1:
        raise RecipeError(f"{where}: needs epochs > 0 or max_steps >= 1")
    if not 0 <= stage.warmup_ratio < 1 or stage.weight_decay < 0:
        raise RecipeError(f"{where}: warmup_ratio must be in [0, 1) and weight_decay >= 0")


def part_of(parameter_name: str) -> str:
    """Which part a LlavaForConditionalGeneration parameter belongs to (PEFT prefixes ignored)."""
    name = parameter_name.removeprefix("base_model.model.")
    for part, prefixes in _PART_PREFIXES.items():
        if name.startswith(prefixes):
            return part
    raise RecipeError(f"parameter {parameter_name!r} belongs to no known part of a LLaVA model")


def prepare_model(model: Any, stage: Stage) -> tuple[Any, list[dict[str, Any]]]:
    """Freeze, wrap LoRA, and return (model, AdamW parameter groups) for a stage.

    Only parameters that train appear in the groups; everything else has
    requires_grad False, so neither gradients nor weight decay can touch it.
    """
    if stage.language_model.mode == "lora" and stage.language_model.trains:
        from peft import LoraConfig, get_peft_model  # slow import, only when used

        assert stage.lora is not None
        config = LoraConfig(
            r=stage.lora.r,
            lora_alpha=stage.lora.alpha,
            lora_dropout=stage.lora.dropout,
            target_modules=stage.lora.target_modules,
            bias="none",
        )
        model = get_peft_model(model, config)
    parts = stage.parts()
    for name, parameter in model.named_parameters():
        part = parts[part_of(name)]
        parameter.requires_grad_(part.trains and (part.mode == "full" or "lora_" in name))
    return model, parameter_groups(model, stage)


def parameter_groups(model: Any, stage: Stage, *, prefix: str = "") -> list[dict[str, Any]]:
    """AdamW's groups (one per training part, at its learning rate) from what requires grad.

    Built by name, so it also reads a model whose parameters FSDP replaced by shards
    (training/parallelize.py); `prefix` is stripped from the names first (a wrapper's)."""
    parts = stage.parts()
    groups: dict[str, list[torch.nn.Parameter]] = {name: [] for name in PARTS}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            groups[part_of(name.removeprefix(prefix))].append(parameter)
    return [{"params": params, "lr": parts[name].lr, "part": name} for name, params in groups.items() if params]


def stage_to_dict(stage: Stage) -> dict[str, Any]:
    """JSON-ready form, for TrainingJob.stages."""
    return dataclasses.asdict(stage)


def stage_from_dict(data: dict[str, Any]) -> Stage:
    """Inverse of stage_to_dict; unknown keys are errors, not silently dropped."""
    known = {f.name for f in dataclasses.fields(Stage)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecipeError(f"stage {data.get('name')!r}: unknown settings {', '.join(unknown)}")
    values = dict(data)
    for name in PARTS:
        if isinstance(values.get(name), dict):
            values[name] = Part(**values[name])
    if isinstance(values.get("lora"), dict):
        values["lora"] = Lora(**values["lora"])
    if isinstance(values.get("data"), list):
        values["data"] = tuple(values["data"])
    return Stage(**values)


# --- templates -------------------------------------------------------------------


@dataclass(frozen=True)
class _Defaults:
    """Per-preset rates and sizes that the templates below share."""

    pretrain: dict[str, Part]
    full_finetune: dict[str, Part]
    lora_finetune: dict[str, Part]
    vision_finetune: dict[str, Part]
    lora: Lora
    replay_pretraining: bool = False  # finetuning stages also train on the pretraining role
    common: dict[str, Any] = field(default_factory=dict)
    pretrain_common: dict[str, Any] = field(default_factory=dict)


def _defaults(preset: str) -> _Defaults:
    frozen = Part()
    if preset == "paper":  # LLaVA-1.5 scripts (pretrain.sh, finetune_lora.sh, finetune.sh)
        slow, projector = Part("full", 2e-5), Part("full", 2e-5)
        return _Defaults(
            pretrain={"vision_tower": frozen, "projector": Part("full", 1e-3), "language_model": frozen},
            full_finetune={"vision_tower": frozen, "projector": projector, "language_model": slow},
            lora_finetune={"vision_tower": frozen, "projector": projector, "language_model": Part("lora", 2e-4)},
            vision_finetune={"vision_tower": slow, "projector": projector, "language_model": frozen},
            lora=Lora(),
            # LLaVA-1.5's global batches (128 finetuning, 256 pretraining on 8 GPUs) on one GPU.
            common={"batch_size": 16, "gradient_accumulation": 8, "bf16": True, "gradient_checkpointing": True},
            pretrain_common={"batch_size": 32, "gradient_accumulation": 8},
        )
    # tiny: everything from scratch at 1e-3, wd 0.01 (tiny-vlm-measurements.md), but batch
    # 16, not 32: in a 3-minute budget it starts using the image after fewer samples
    # (measured on captions: image-shuffle loss gap 0.12 after 4,800 samples at 16,
    # 0.08 after 8,000 at 32).
    if preset == "tiny":
        full = Part("full", 1e-3)
        return _Defaults(
            pretrain={"vision_tower": full, "projector": full, "language_model": full},
            full_finetune={"vision_tower": full, "projector": full, "language_model": full},
            lora_finetune={"vision_tower": full, "projector": full, "language_model": Part("lora", 2e-3)},
            vision_finetune={"vision_tower": full, "projector": full, "language_model": frozen},
            lora=Lora(r=16, alpha=32, dropout=0.0),  # r=128 would exceed the 128-wide model
            # Measured: finetuning on short answers alone made the from-scratch encoder's
            # image use collapse (held-out answers equal a blind control's); replaying the
            # captions keeps it, as LLaVA-1.5's finetuning mixture keeps captioning data.
            replay_pretraining=True,
            common={"batch_size": 16, "weight_decay": 0.01, "warmup_ratio": 0.05},
        )
    raise RecipeError(f"unknown model preset {preset!r}; expected one of {', '.join(PRESETS)}")


def template(name: str, preset: str, **overrides: Any) -> list[Stage]:
    """The stages of one adaptation variant for a preset; `overrides` apply to every stage.

    - english_base: English pretraining -> English finetuning (the starting model).
    - variant2: English pretraining -> French LoRA finetuning.
    - variant3: French pretraining -> French finetuning.
    - variant4: English pretraining -> French finetuning of the vision side ->
      French finetuning of the language model with the encoder frozen (lr 0).
    The translation-only pipeline (variant 1) trains nothing and has no template.
    With the tiny preset, finetuning stages also replay the template's pretraining
    role (see `_defaults`), so their `data` names two roles.
    """
    d = _defaults(preset)
    pretrain_settings = {**d.common, **d.pretrain_common, **overrides}
    finetune_settings = {**d.common, **overrides}

    pretrain_role = "fr_pretrain" if name == "variant3" else "en_pretrain"

    def pretrain() -> Stage:
        return Stage(name="pretrain", data=(pretrain_role,), **d.pretrain, **pretrain_settings)

    def finetune(role: str, parts: dict[str, Part], stage_name: str = "finetune") -> Stage:
        lora = d.lora if parts["language_model"].mode == "lora" else None
        data = (role, pretrain_role) if d.replay_pretraining else (role,)
        return Stage(name=stage_name, data=data, lora=lora, **parts, **finetune_settings)

    if name == "english_base":
        return [pretrain(), finetune("en_finetune", d.full_finetune)]
    if name == "variant2":
        return [pretrain(), finetune("fr_finetune", d.lora_finetune)]
    if name == "variant3":
        return [pretrain(), finetune("fr_finetune", d.full_finetune)]
    if name == "variant4":
        # "Encoder lr 0": prepare_model freezes a part at lr 0, so SigLIP stays as stage 2 left it.
        language_parts = d.lora_finetune if preset == "paper" else d.full_finetune
        language = {**language_parts, "vision_tower": Part("full", 0.0)}
        return [
            pretrain(),
            finetune("fr_finetune", d.vision_finetune, "finetune_vision"),
            finetune("fr_finetune", language, "finetune_language"),
        ]
    raise RecipeError(f"unknown template {name!r}; expected one of {', '.join(TEMPLATES)}")


def check_data(stage: Stage, n_records: int) -> None:
    """An empty snapshot is a user error worth a clear message before any model loads."""
    if n_records <= 0:
        raise RecipeError(f"stage {stage.name!r}: no records for data roles {', '.join(stage.data)}")
