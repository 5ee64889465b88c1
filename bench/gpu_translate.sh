#!/usr/bin/env bash
# Translation throughput of in-process vLLM on one GPU; see bench/gpu_translate.py.
#   bench/gpu_translate.sh --dry-run                     # plan only, works on a CPU
#   RELECTURE_LLAMA_PATH=/models/Llama-3.1-8B-Instruct bench/gpu_translate.sh --sample world/sample.json
# Needs `pip install -r requirements-gpu.txt` for a real run. PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
exec "$PYTHON" bench/gpu_translate.py "$@"
