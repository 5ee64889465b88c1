"""python manage.py train_plan --preset paper --template variant3 --nodes 1 --gpus-per-node 8 --gpu-memory 80

Prints the per-GPU memory of every stage of a template (training/memory_plan.py), then
"fits" or "does not fit" with the smallest configuration that would. Exit status 0
when every stage fits, 1 otherwise. Nothing is loaded: the model is counted on the
meta device from its configuration.
"""

from __future__ import annotations

import dataclasses

from django.core.management.base import BaseCommand, CommandError

from training import presets
from training.memory_plan import plan, refusal
from training.recipes import TEMPLATES, RecipeError, template

# LLaVA-1.5's model_max_length; the tiny preset's conversations stay well under 256.
DEFAULT_SEQUENCE_LENGTH = {"paper": 2048, "tiny": 256}


def preset_config(preset: str):
    """The preset's architecture without weights.

    tiny: vocabulary 1024 is the BPE target (presets.TINY_VOCAB_SIZE); the trained
    tokenizer can hold a few fewer tokens, which changes the count by < 1%. Its special
    tokens come first, so <pad> is 0 and <image> is their index.
    """
    if preset == "paper":
        return presets.paper_config()
    if preset == "tiny":
        specials = ["<pad>", "<s>", "</s>", "<unk>", presets.IMAGE_TOKEN]
        return presets.tiny_config(
            vocab_size=presets.TINY_VOCAB_SIZE, image_token_index=specials.index(presets.IMAGE_TOKEN), pad_token_id=0
        )
    raise CommandError(f"unknown preset {preset!r}; known presets: {', '.join(presets.PRESETS)}")


class Command(BaseCommand):
    help = "Per-GPU memory of every stage of a training template, and whether it fits."

    def add_arguments(self, parser):
        parser.add_argument("--preset", required=True, help=f"one of {', '.join(presets.PRESETS)}")
        parser.add_argument("--template", required=True, help=f"one of {', '.join(TEMPLATES)}")
        parser.add_argument("--nodes", type=int, default=1)
        parser.add_argument("--gpus-per-node", type=int, default=1)
        parser.add_argument("--gpu-memory", type=float, default=80, help="GiB per GPU (default 80)")
        parser.add_argument(
            "--sequence-length", type=int, help="tokens per sample, image tokens included (paper 2048, tiny 256)"
        )
        parser.add_argument(
            "--micro-batch", type=int, help="global micro-batch (Stage.batch_size, split over the GPUs); default: the template's"
        )
        parser.add_argument("--no-sharding", action="store_true", help="replicate the model on every GPU (no FSDP)")
        parser.add_argument("--cpu-offload", action="store_true", help="FSDP2 CPU offload of the shards")

    def handle(self, *args, preset, template: str, nodes, gpus_per_node, gpu_memory, sequence_length,
               micro_batch, no_sharding, cpu_offload, **options):
        config = preset_config(preset)
        if template not in TEMPLATES:
            raise CommandError(f"unknown template {template!r}; known templates: {', '.join(TEMPLATES)}")
        if no_sharding and cpu_offload:
            raise CommandError("--cpu-offload needs sharding: FSDP2 offloads the shards (drop --no-sharding)")
        if micro_batch is not None and micro_batch < 1:
            raise CommandError(f"--micro-batch must be at least 1, got {micro_batch}")
        try:
            stages = presets_template(template, preset, micro_batch)
            plans = [
                (stage, plan(config, stage, sequence_length=sequence_length or DEFAULT_SEQUENCE_LENGTH[preset],
                             nodes=nodes, gpus_per_node=gpus_per_node, gpu_memory_gib=gpu_memory,
                             sharding=not no_sharding, cpu_offload=cpu_offload))
                for stage in stages
            ]
        except (RecipeError, ValueError) as error:
            raise CommandError(str(error)) from error
        failures = []
        for stage, result in plans:
            self.stdout.write(result.table())
            if not result.fits:
                failures.append(refusal(config, stage, result))
                self.stdout.write(f"  {failures[-1]}")
            self.stdout.write("")
        if failures:
            raise CommandError(f"{preset} {template}: {len(failures)} of {len(plans)} stages do not fit")
        self.stdout.write(f"{preset} {template}: every stage fits")


def presets_template(name: str, preset: str, micro_batch: int | None):
    """The template's stages, with the global micro-batch overridden when asked
    (samples per optimizer step kept: accumulation grows as the micro-batch shrinks)."""
    stages = template(name, preset)
    if micro_batch is None:
        return stages
    return [
        dataclasses.replace(
            stage, batch_size=micro_batch,
            gradient_accumulation=max(1, -(-stage.batch_size * stage.gradient_accumulation // micro_batch)),
        )
        for stage in stages
    ]
