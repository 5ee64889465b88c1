#!/usr/bin/env bash
# Training at the paper's scale on one GPU (or several, under torchrun): the study's model
# shape built from configs (Mistral-7B text + SigLIP so400m-patch14-384 vision, random
# weights, nothing downloaded), sharded by the project's FSDP2 code (training/parallelize.py),
# ~20 steps each of three stages at LLaVA-1.5 sequence lengths:
#   pretrain  projector only (variant 2's stage 1),            ~800 tokens (729 image + text)
#   lora      LoRA r=128 on the language model + projector,     2048 tokens
#   full      full language model + projector (CPU offload of   2048 tokens
#             the shards when one GPU cannot hold them)
# Prints tokens/s, model FLOPs utilisation (MFU, against the GPU's dense bf16 peak) and
# peak GPU memory per stage. About 6 minutes on one H100/H200.
#
#   bench/gpu_train_scale.sh [--steps 20] [--stages pretrain,lora,full] [--offload auto|on|off]
#   torchrun --nproc_per_node 8 bench/gpu_train_scale.py ...   # several GPUs (same body)
#   bench/gpu_train_scale.sh --dry-run   # CPU: same code path, 2 steps, the shapes shrunk
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
exec "$PYTHON" bench/gpu_train_scale.py "$@"
