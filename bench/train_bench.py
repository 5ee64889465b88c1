"""Training benchmark: the tiny preset learns the `full` miniature world on 2 CPU cores.

Runs the english_base template (caption pretraining, then instruction finetuning with
the captions replayed) for 300 steps of 16 samples + 1500 steps of 32 (the study's full
budget; about 3.8 minutes on 2 quiet cores), then evaluates the model on the world's English benchmarks against chance:
POPE accuracy and yes-ratio per split, ScienceQA with LLaVA's letter prompt, TextVQA
(VQA accuracy) and held-out instruction QA (exact match per task, beside a blind
control that pairs each question with another image, and the majority answer). The
held-out images are removed from both training files, so every score is on unseen
images. Prints samples/s per stage; writes bench/results/train_bench.json.

    .venv/bin/python bench/train_bench.py [--world DIR] [--threads 2] [--pretrain-steps N] [--finetune-steps N]

The configuration search of docs/performance.md ("What the tiny preset can and cannot learn")
used the other options: --pretrain-batch / --finetune-batch, --lr / --vision-lr,
--no-group-by-length, --no-replay, --seed, --no-french (no apertium on the machine), and the
diagnostic --finetune-tasks yesno (finetune on those instruct tasks alone).

On a busy machine pass --threads 1: two threads competing for cores run ~5x slower.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transformers.utils import logging as hf_logging  # noqa: E402

from evaluation.benchmark_prompts import SHORT_SUFFIX  # noqa: E402
from evaluation.generate import generate_answers  # noqa: E402
from evaluation.metrics import score_files  # noqa: E402
from training.data import ConversationDataset  # noqa: E402
from training.loop import Callbacks, run_stage  # noqa: E402
from training.presets import build_tiny  # noqa: E402
from training.recipes import PARTS, template  # noqa: E402
from world.generator import generate_world  # noqa: E402

HELD_OUT_IMAGES = 300  # the last train images: kept out of training, used for instruct accuracy
LETTER_PROMPT = "Answer with the option's letter from the given choices directly."


def split_training_files(world: Path, out: Path) -> dict[str, Path]:
    """Training copies of captions and instruct without the held-out images, and the held-out QA."""
    captions = json.loads((world / "llava" / "blip_laion_cc_sbu_558k.json").read_text())
    instruct = json.loads((world / "llava" / "llava_instruct.json").read_text())
    images = sorted({r["image"] for r in instruct})
    held = set(images[-min(HELD_OUT_IMAGES, len(images) // 4) :])  # a quarter at most (small worlds)
    files = {
        "en_pretrain": [r for r in captions if r["image"] not in held],
        "en_finetune": [r for r in instruct if r["image"] not in held],
        "held_out": [r for r in instruct if r["image"] in held and len(r["conversations"]) == 2],
    }
    paths = {}
    for name, records in files.items():
        paths[name] = out / f"{name}.json"
        paths[name].write_text(json.dumps(records))
    return paths


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 3) if values else 0.0


def scienceqa_prompt(item: dict) -> str:
    """lmms-eval scienceqa_img doc_to_text with LLaVA's post prompt."""
    context = f"Context: {item['hint']}\n" if item["hint"] else ""
    choices = "\n".join(f"{chr(ord('A') + i)}. {choice}" for i, choice in enumerate(item["choices"]))
    return f"{context}{item['question']}\n{choices}\n{LETTER_PROMPT}"


def score(benchmark: str, reference: Path, ids: list, answers: list[str], out: Path) -> dict:
    predictions = out / f"{reference.stem}.predictions.jsonl"
    lines = [json.dumps({"question_id": qid, "prediction": answer}) for qid, answer in zip(ids, answers)]
    predictions.write_text("\n".join(lines) + "\n")
    return score_files(benchmark, reference, predictions)


def evaluate(model, processor, world: Path, held_out: Path, train_instruct: Path, out: Path) -> dict:
    images, results = world / "images", {}

    def answers(items: list[tuple[Path, str]]) -> list[str]:
        return generate_answers(model, processor, items, max_new_tokens=8, batch_size=64)

    for split in ("random", "popular", "adversarial"):
        path = world / "pope" / f"coco_pope_{split}.json"
        items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        predicted = answers([(images / i["image"], f"{i['text']}\n{SHORT_SUFFIX['en']}") for i in items])
        metrics = score("pope", path, [i["question_id"] for i in items], predicted, out)
        results[f"pope_{split}"] = {
            "accuracy": metrics["accuracy"], "yes_ratio": metrics["yes_ratio"], "chance": 0.5, "flags": metrics["flags"]
        }

    path = world / "scienceqa" / "scienceqa_img_test.json"
    items = json.loads(path.read_text())
    predicted = answers([(images / i["image"], scienceqa_prompt(i)) for i in items])
    metrics = score("scienceqa", path, [i["id"] for i in items], predicted, out)
    chance = sum(1 / len(i["choices"]) for i in items) / len(items)
    results["scienceqa"] = {
        "accuracy": metrics["accuracy"], "chance": round(chance, 3), "answers": dict(Counter(predicted).most_common(4))
    }

    path = world / "textvqa" / "TextVQA_0.5.1_val.json"
    items = json.loads(path.read_text())["data"]
    predicted = answers([(images / f"{i['image_id']}.png", f"{i['question']}\n{SHORT_SUFFIX['en']}") for i in items])
    metrics = score("textvqa", path, [i["question_id"] for i in items], predicted, out)
    results["textvqa"] = {"accuracy": metrics["accuracy"], "chance": 0.0, "samples": predicted[:5]}

    held = json.loads(held_out.read_text())
    questions = [r["conversations"][0]["value"] for r in held]
    predicted = answers([(images / r["image"], q) for r, q in zip(held, questions)])
    # Blind control (tiny-vlm-measurements.md): each question with another record's image.
    blind = answers([(images / held[(i + 7) % len(held)]["image"], q) for i, q in enumerate(questions)])
    majority: dict[str, Counter[str]] = defaultdict(Counter)
    for record in json.loads(train_instruct.read_text()):
        majority[record["id"].split("-")[0]][record["conversations"][1]["value"].lower()] += 1
    by_task: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for record, answer, blind_answer in zip(held, predicted, blind):
        task, truth = record["id"].split("-")[0], record["conversations"][1]["value"].lower()
        top = majority[task].most_common(1)[0][0] if majority[task] else None
        by_task[task].append((answer.lower() == truth, blind_answer.lower() == truth, top == truth))
    results["instruct_held_out"] = {
        task: {
            "accuracy": _share(row[0] for row in rows),
            "blind": _share(row[1] for row in rows),
            "chance": _share(row[2] for row in rows),
            "n": len(rows),
        }
        for task, rows in sorted(by_task.items())
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path, help="a generated full world (default: generate one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pretrain-steps", type=int, default=300)
    parser.add_argument("--finetune-steps", type=int, default=1500)
    parser.add_argument("--pretrain-batch", type=int, help="samples per pretraining step (default: the template's)")
    parser.add_argument("--finetune-batch", type=int, default=32,
                        help="samples per finetuning step (32: with 16, presence was learned on 1 seed of 3, with 32 on 2)")
    parser.add_argument("--lr", type=float, help="one learning rate for every trained part (default: the template's)")
    parser.add_argument("--no-group-by-length", action="store_true", help="plain shuffled batches")
    parser.add_argument("--no-french", action="store_true", help="tokenizer without apertium's French sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--finetune-tasks", help="diagnostic: finetune only on these instruct tasks (id prefixes, comma-separated)")
    parser.add_argument("--no-replay", action="store_true", help="finetune without replaying the captions")
    parser.add_argument("--vision-lr", type=float, help="learning rate of the vision tower alone")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_bench.json")
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    scratch = Path(tempfile.mkdtemp(prefix="train_bench_"))
    world = args.world or scratch / "world"
    if not args.world:
        generate_world(world, seed=0, size="full")
    files = split_training_files(world, scratch)
    if args.finetune_tasks:
        keep = tuple(f"{task}-" for task in args.finetune_tasks.split(","))
        kept = [r for r in json.loads(files["en_finetune"].read_text()) if r["id"].startswith(keep)]
        files["en_finetune"].write_text(json.dumps(kept))
    model, processor = build_tiny(world / "corpus" / "english.txt", seed=args.seed, french=not args.no_french)
    steps = {"pretrain": args.pretrain_steps, "finetune": args.finetune_steps}
    batches = {"pretrain": args.pretrain_batch, "finetune": args.finetune_batch}
    report: dict = {"threads": args.threads, "args": {k: str(v) for k, v in vars(args).items()}, "stages": {}}
    started = time.perf_counter()
    for stage in template("english_base", "tiny"):
        stage_started = time.perf_counter()
        logs = Callbacks(on_log=lambda s, loss, lr: print(f"  step {s:4d} loss {loss:.3f} lr {lr:.1e}", flush=True))
        changes: dict = {"max_steps": steps[stage.name], "seed": args.seed}
        if batches[stage.name]:
            changes["batch_size"] = batches[stage.name]
        if args.no_replay and stage.name == "finetune":
            changes["data"] = ("en_finetune",)
        if args.no_group_by_length:
            changes["group_by_length"] = False
        if args.lr:
            changes.update({part: dataclasses.replace(getattr(stage, part), lr=args.lr)
                            for part in PARTS if getattr(stage, part).trains})
        if args.vision_lr:
            changes["vision_tower"] = dataclasses.replace(stage.vision_tower, lr=args.vision_lr)
        stage = dataclasses.replace(stage, **changes)
        dataset = ConversationDataset.combine(
            [ConversationDataset.from_json(files[role], world / "images") for role in stage.data]
        )
        result = run_stage(model, processor, stage, dataset, scratch / stage.name, callbacks=logs,
                           log_every=50, num_threads=args.threads, checkpoint_at_end=False)
        model = result.model
        seconds = time.perf_counter() - stage_started
        report["stages"][stage.name] = {"steps": result.steps, "seconds": round(seconds, 1),
                                        "samples_per_s": round(result.samples_per_s, 1)}
        print(f"{stage.name}: {result.steps} steps x {stage.batch_size} in {seconds:.0f} s, "
              f"{result.samples_per_s:.0f} samples/s", flush=True)
    report["train_seconds"] = round(time.perf_counter() - started, 1)
    eval_started = time.perf_counter()
    report["eval"] = evaluate(model, processor, world, files["held_out"], files["en_finetune"], scratch)
    report["eval_seconds"] = round(time.perf_counter() - eval_started, 1)
    print(f"training {report['train_seconds']} s, evaluation {report['eval_seconds']} s")
    for name, values in report["eval"].items():
        print(f"{name}: {json.dumps(values)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
