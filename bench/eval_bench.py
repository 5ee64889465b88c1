"""Evaluation benchmark: a tiny model answers 1,000 world benchmark questions on 2 CPU threads.

Times a direct run (batched greedy generation + scoring with the three parsers, as
evaluation/runner.py does) and the translation-only pipeline (apertium
French -> English for the questions, English -> French for the answers) on a share
of the same items, and prints items/s for both. By default random weights, which never
stop before max_new_tokens (the slowest case); `--model DIR` loads a trained model (e.g.
the study's English base), which stops at its end-of-answer token as real runs do.

    .venv/bin/python bench/eval_bench.py [--world DIR] [--model DIR] [--items 1000] [--threads 2] [--translated 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from evaluation.benchmark_prompts import english_texts, prompt, read_items, with_english, write_references  # noqa: E402
from evaluation.generate import generate_answers  # noqa: E402
from evaluation.metrics import PARSERS, score_files  # noqa: E402
from training.presets import build_tiny, load_model  # noqa: E402
from translation.engines import get_engine  # noqa: E402
from translation.inference import answers_to_french, questions_to_english  # noqa: E402
from translation.structure import translate_texts  # noqa: E402
from world.generator import generate_world  # noqa: E402

FILES = {"pope": "pope/coco_pope_random.json", "scienceqa": "scienceqa/scienceqa_img_test.json",
         "textvqa": "textvqa/TextVQA_0.5.1_val.json"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path)
    parser.add_argument("--model", type=Path, help="a trained model directory (default: random tiny weights)")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--translated", type=int, default=200, help="items through the translation-only pipeline")
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="eval_bench_"))
    world = args.world or scratch / "world"
    if not args.world:
        generate_world(world, seed=0, size="full")
    images = world / "images"
    model, processor = load_model(args.model) if args.model else build_tiny(world / "corpus" / "english.txt")
    per = {"pope": args.items * 2 // 5, "scienceqa": args.items * 3 // 10}
    per["textvqa"] = args.items - per["pope"] - per["scienceqa"]
    chosen = {b: read_items(b, world / f, image_root=images)[: per[b]] for b, f in FILES.items()}
    total = sum(len(v) for v in chosen.values())

    started = time.perf_counter()
    for benchmark, items in chosen.items():
        answers = generate_answers(model, processor, [(images / i.image, prompt(benchmark, i, "en")) for i in items],
                                   max_new_tokens=16, batch_size=64)  # fmt: skip
        predictions = scratch / f"{benchmark}.jsonl"
        predictions.write_text("".join(json.dumps({"question_id": i.question_id, "prediction": a}) + "\n"
                                       for i, a in zip(items, answers, strict=True)))  # fmt: skip
        references = write_references(benchmark, world / FILES[benchmark], [i.question_id for i in items],
                                      scratch / f"{benchmark}.ref{Path(FILES[benchmark]).suffix}")  # fmt: skip
        for name in PARSERS:
            score_files(benchmark, references, predictions, name, expected_language="en")
    direct = time.perf_counter() - started
    print(f"direct: {total} items in {direct:.1f} s, {total / direct:.1f} items/s (generation + scoring x3 parsers)")

    engine = get_engine("apertium")
    share = {b: items[: max(1, args.translated * len(items) // total)] for b, items in chosen.items()}
    french = {b: with_english(b, items, translate_texts(engine, english_texts(b, items), "en", "fr"))
              for b, items in share.items()}  # fmt: skip  (set-up: French questions, not timed)
    n = sum(len(v) for v in french.values())
    started = time.perf_counter()
    for benchmark, items in french.items():
        asked = with_english(benchmark, items, questions_to_english(engine, english_texts(benchmark, items)))
        answers = generate_answers(model, processor, [(images / i.image, prompt(benchmark, i, "en")) for i in asked],
                                   max_new_tokens=16, batch_size=64)  # fmt: skip
        answers_to_french(engine, answers)
    translated = time.perf_counter() - started
    print(f"translation-only: {n} items in {translated:.1f} s, {n / translated:.1f} items/s (apertium both ways + generation)")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
