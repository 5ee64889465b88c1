#!/usr/bin/env bash
# GPU training smoke test: the real training loop (training/loop.py) in bf16 autocast on
# one GPU, for the tiny preset and a ~1B-parameter model built from a config (random
# weights, nothing downloaded), 50 steps each. Prints samples/s, tokens/s and peak GPU
# memory per model; takes under 5 minutes on an H100.
#
#   bench/gpu_train_smoke.sh [--steps 50] [--batch 16]
#   bench/gpu_train_smoke.sh --dry-run   # CPU: same code path, 2 steps, the 1B model shrunk
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1
exec "$PYTHON" - "$@" <<'PY'
"""The body of gpu_train_smoke.sh (kept in one file so the script is self-contained)."""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, ".")
import torch
from transformers import LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, SiglipVisionConfig
from transformers.utils import logging as hf_logging

from training.data import ConversationCollator, ConversationDataset
from training.loop import run_stage
from training.presets import IMAGE_TOKEN, build_tiny, make_processor
from training.recipes import template
from world.generator import generate_world

hf_logging.disable_progress_bar()
parser = argparse.ArgumentParser()
parser.add_argument("--dry-run", action="store_true", help="CPU, 2 steps, the 1B model at 1/16 width")
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--batch", type=int, default=16)
args = parser.parse_args()
if args.dry_run:
    args.steps, args.batch, device = 2, 2, "cpu"
elif not torch.cuda.is_available():
    sys.exit("gpu_train_smoke: no CUDA device (use --dry-run on a CPU machine)")
else:
    device = "cuda"


def one_billion(tokenizer, shrink: int = 1):
    """SigLIP-base-like vision (224/16: 196 image tokens) + a 20-layer, 2048-wide Llama: 1.04B.

    `shrink` divides widths and depths for the dry run; the code path stays the same."""
    vision = SiglipVisionConfig(image_size=224, patch_size=16, hidden_size=768 // shrink, num_hidden_layers=max(2, 12 // shrink),
                                num_attention_heads=12, intermediate_size=3072 // shrink, vision_use_head=False)
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=2048 // shrink, num_hidden_layers=max(2, 20 // shrink),
                       num_attention_heads=16, num_key_value_heads=8, intermediate_size=5632 // shrink,
                       tie_word_embeddings=False, max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text, image_seq_length=196,
                         image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_select_strategy="full", vision_feature_layer=-2)
    torch.manual_seed(0)
    return LlavaForConditionalGeneration(config), make_processor(tokenizer, image_size=224, patch_size=16)


scratch = Path(tempfile.mkdtemp(prefix="gpu_smoke_"))
try:
    world = scratch / "world"
    generate_world(world, seed=0, size="small")
    dataset = ConversationDataset.from_json(world / "llava" / "llava_instruct.json", world / "images")
    have_apertium = shutil.which("apertium") is not None
    tiny = build_tiny(world / "corpus" / "english.txt", french=have_apertium)
    big = one_billion(tiny[1].tokenizer, shrink=16 if args.dry_run else 1)
    base = template("english_base", "tiny")[1]
    stage = dataclasses.replace(base, max_steps=args.steps, batch_size=args.batch, bf16=True, warmup_ratio=0.1,
                                vision_tower=dataclasses.replace(base.vision_tower, lr=1e-4),
                                projector=dataclasses.replace(base.projector, lr=1e-4),
                                language_model=dataclasses.replace(base.language_model, lr=1e-4))
    print(f"device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu (dry run)'}; "
          f"{args.steps} steps x batch {args.batch}, bf16 autocast={device == 'cuda'}")
    for name, (model, processor) in (("tiny", tiny), ("1b" if not args.dry_run else "1b/16", big)):
        parameters = sum(p.numel() for p in model.parameters())
        sample = ConversationCollator(processor, dataset.image_root)([dataset[i] for i in range(64)])
        tokens_per_sample = sample["attention_mask"].sum().item() / 64
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        result = run_stage(model, processor, stage, dataset, scratch / name, device=device,
                           checkpoint_at_end=False, num_threads=1 if args.dry_run else None)
        seconds = time.perf_counter() - started
        peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if device == "cuda" else "n/a (CPU)"
        print(f"{name}: {parameters / 1e6:.1f}M parameters, {result.steps} steps in {seconds:.1f} s, "
              f"{result.samples_per_s:.1f} samples/s, {result.samples_per_s * tokens_per_sample:.0f} tokens/s, "
              f"peak GPU memory {peak}", flush=True)
        del model, result
        if device == "cuda":
            torch.cuda.empty_cache()
    print("gpu_train_smoke: ok")
finally:
    shutil.rmtree(scratch, ignore_errors=True)
PY
