"""Translation throughput of in-process vLLM on one GPU (goal: >= 5,000 generated tokens/s on an H100).

Builds chat prompts exactly as the `vllm` engine does (same system prompt, same
segments as `translation.structure` would send), runs them through `LLM.chat` in
one call, and prints generated tokens per second. With Llama-3.1-8B-Instruct
weights (--model or $RELECTURE_LLAMA_PATH) it measures the real thing; without
weights it writes a Llama-3.1-8B config plus a word-level tokenizer trained on the
prompts and lets vLLM use random weights (load_format="dummy", ignore_eos), which
has the same compute shape. `--dry-run` does everything but vLLM, on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from translation.prompts import PROMPT_VERSION, build_messages, prompt_hash  # noqa: E402
from translation.structure import ItemSource, engine_segments  # noqa: E402

GOAL_TOKENS_PER_S = 5000
MODEL_ENV = "RELECTURE_LLAMA_PATH"
VOCAB_SIZE = 128256
LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": VOCAB_SIZE,
    "hidden_act": "silu",
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-05,
    "rope_theta": 500000.0,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "attention_bias": False,
    "mlp_bias": False,
    "tie_word_embeddings": False,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
    "torch_dtype": "bfloat16",
}
SPECIAL_TOKENS = {
    "<|begin_of_text|>": 128000,
    "<|end_of_text|>": 128001,
    "<|start_header_id|>": 128006,
    "<|end_header_id|>": 128007,
    "<|eot_id|>": 128009,
}
CHAT_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] "
    "+ '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
FALLBACK_SENTENCES = [
    "<image>\nWhat colour is the circle?",
    "How many red squares are there in the image?",
    "Is the blue triangle to the left of the green star?",
    "A small yellow hexagon next to two purple circles.",
    "What word is written below the square?",
    "There are 3 orange stars on a white background.",
    "Which shape is the largest?\nA. circle\nB. square\nC. triangle",
    "The green square is above the red circle.",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=os.environ.get(MODEL_ENV), help=f"weights directory (default ${MODEL_ENV})"
    )
    parser.add_argument(
        "--sample", type=Path, help="world/sample file: JSON list or JSONL of LLaVA items, or text lines"
    )
    parser.add_argument("--num-prompts", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--source", default="en")
    parser.add_argument("--target", default="fr")
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.90)
    parser.add_argument("--tensor-parallel-size", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where the from-config model goes (default: a temp dir)")
    parser.add_argument("--dry-run", action="store_true", help="plan only: no vLLM, no GPU")
    args = parser.parse_args(argv)
    if args.num_prompts < 1 or args.max_tokens < 1:
        parser.error("--num-prompts and --max-tokens must be positive")
    if args.sample is not None and not args.sample.is_file():
        parser.error(f"--sample {args.sample}: no such file")
    return args


def load_segments(sample: Path | None, source: str, target: str) -> list[str]:
    """Engine segments of the sample: what a translation job would send."""
    if sample is None:
        texts = FALLBACK_SENTENCES
        return engine_segments(
            [ItemSource([{"from": "human", "value": t}]) for t in texts], 4000, source, target
        )
    raw = sample.read_text(encoding="utf-8")
    try:
        records = json.loads(raw)
        records = records if isinstance(records, list) else [records]
    except json.JSONDecodeError:
        try:
            records = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError:
            records = [line for line in raw.splitlines() if line.strip()]
    items = [
        ItemSource(r["conversations"], r.get("meta", {}), r.get("task_type", "conversation"))
        if isinstance(r, dict) and "conversations" in r
        else ItemSource([{"from": "human", "value": str(r)}])
        for r in records
    ]
    return engine_segments(items, 4000, source, target)


def build_prompts(
    segments: list[str], num_prompts: int, source: str, target: str
) -> list[list[dict[str, str]]]:
    if not segments:
        raise SystemExit("the sample holds no text to translate")
    return [build_messages(segments[i % len(segments)], source, target) for i in range(num_prompts)]


def write_model_from_config(directory: Path, prompts: list[list[dict[str, str]]]) -> Path:
    """Llama-3.1-8B config + a word-level tokenizer with its full 128,256-entry vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    splitter = pre_tokenizers.Whitespace()
    words = dict.fromkeys(["<unk>", "system", "user", "assistant"])
    for messages in prompts:
        for message in messages:
            words.update(dict.fromkeys(word for word, _ in splitter.pre_tokenize_str(message["content"])))
    # Every id up to vocab_size has a token, so random weights decode cleanly.
    free_ids = (i for i in range(VOCAB_SIZE) if i not in SPECIAL_TOKENS.values())
    vocab = {
        token: i for token, i in zip([*list(words)[:120_000], *(f"<w{i}>" for i in range(130_000))], free_ids)
    }
    vocab |= SPECIAL_TOKENS
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = splitter
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<|begin_of_text|>",
                "eos_token": "<|eot_id|>",
                "unk_token": "<unk>",
                "model_max_length": 131072,
                "chat_template": CHAT_TEMPLATE,
            },
            indent=1,
        )
    )
    (directory / "config.json").write_text(json.dumps(LLAMA_31_8B, indent=1))
    return directory


def has_weights(model: str | None) -> bool:
    return (
        bool(model)
        and Path(str(model), "config.json").is_file()
        and any(Path(str(model)).glob("*.safetensors"))
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    segments = load_segments(args.sample, args.source, args.target)
    prompts = build_prompts(segments, args.num_prompts, args.source, args.target)
    real = has_weights(args.model)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gpu-translate-"))
    model_dir = (
        Path(args.model) if real else write_model_from_config(workdir / "llama-3.1-8b-config", prompts)
    )
    plan = {
        "mode": "dry-run" if args.dry_run else "run",
        "model": str(model_dir),
        "weights": "real" if real else "random (load_format=dummy, from config)",
        "direction": f"{args.source}->{args.target}",
        "prompt_version": PROMPT_VERSION,
        "prompt_sha256": prompt_hash(),
        "distinct_segments": len(segments),
        "prompts": len(prompts),
        "segment_chars": sum(len(p[1]["content"]) for p in prompts),
        "sampling": {"temperature": 0.0, "max_tokens": args.max_tokens, "ignore_eos": not real},
        "first_prompt": prompts[0],
    }
    print(json.dumps(plan, ensure_ascii=False, indent=1))
    if args.dry_run:
        print("dry run: vllm not imported, nothing generated")
        return 0
    return run(args, model_dir, real, prompts)


def run(args: argparse.Namespace, model_dir: Path, real: bool, prompts: list[list[dict[str, str]]]) -> int:
    from vllm import LLM, SamplingParams

    llm = LLM(
        model=str(model_dir),
        tokenizer=str(model_dir),
        dtype="bfloat16",
        load_format="auto" if real else "dummy",
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.gpu_memory_utilization,
        tensor_parallel_size=args.tensor_parallel_size,
    )
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, ignore_eos=not real)
    llm.chat(prompts[:8], params, use_tqdm=False)  # warm-up
    started = time.perf_counter()
    results = llm.chat(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - started
    generated = sum(len(r.outputs[0].token_ids) for r in results)
    prompt_tokens = sum(len(r.prompt_token_ids or []) for r in results)
    report = {
        "prompts": len(prompts),
        "seconds": round(seconds, 2),
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated,
        "generated_tokens_per_s": round(generated / seconds, 1),
        "total_tokens_per_s": round((generated + prompt_tokens) / seconds, 1),
        "goal_tokens_per_s": GOAL_TOKENS_PER_S,
        "goal_met": generated / seconds >= GOAL_TOKENS_PER_S,
        "sample_output": results[0].outputs[0].text[:200],
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
