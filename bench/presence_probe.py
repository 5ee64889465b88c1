"""Diagnostic: does the tiny preset learn yes/no presence ("Is there a red circle?")?

Trains a fresh tiny model on one finetuning stage of generated scenes and asks 400
held-out presence questions with their own image and with another image (blind
control). The scenes use the world's drawing but a vocabulary of your choice:
`notes` is shared/notes/tiny-vlm-measurements.md's world (4 colours x 3 shapes,
uniform, no printed text), `world` the miniature world's 5 x 4. Options change one
thing at a time (see docs/performance.md, "Presence probes on 2 CPU cores"):

    .venv/bin/python bench/presence_probe.py [--vocab notes|world] [--steps 600] [--batch 32]
        [--mix yesno[,colour,count,caption,say]] [--hard 0.0] [--image-last] [--text-scene] [--init 0.02] [--feature-layer -2]
        [--world-scenes] [--phrasings]

--mix say is the sanity check ("Please answer yes now." -> "Yes": copying a word of
the question, learned in ~100 steps); the held-out questions are of the first task.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import evaluation.generate  # noqa: E402
import training.data  # noqa: E402
import training.presets  # noqa: E402
from evaluation.generate import generate_answers  # noqa: E402
from training.data import ConversationDataset  # noqa: E402
from training.loop import Callbacks, run_stage  # noqa: E402
from training.recipes import PARTS, template  # noqa: E402
from world import drawing  # noqa: E402
from world.generator import TRAIN_TEXT_SHARE  # noqa: E402
from world.questions import SHORT_ANSWER  # noqa: E402
from world.scene import JITTER, RADIUS, SLOT_CENTRES, Scene, ShapeObject, sample_scene  # noqa: E402
from world.vocabulary import COLOUR_RGB, POSITION_ORDER, POSITIONS  # noqa: E402

VOCABULARIES = {
    "notes": (("red", "green", "blue", "yellow"), ("circle", "square", "triangle")),
    "world": (("red", "blue", "green", "yellow", "purple"), ("circle", "square", "triangle", "star")),
}
HELD_OUT = 400
QA = tuple[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", choices=sorted(VOCABULARIES), default="notes")
    parser.add_argument("--images", type=int, default=8000, help="training images, two questions each")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--mix", default="yesno", help="tasks drawn uniformly: yesno, colour, count, caption, say")
    parser.add_argument("--hard", type=float, default=0.0, help="share of 'No' questions that are hard negatives")
    parser.add_argument("--image-last", action="store_true", help="question first, then the image")
    parser.add_argument("--text-scene", action="store_true", help="list the objects in the question (text lookup)")
    parser.add_argument("--init", type=float, help="initializer_range of the language model (default 0.02)")
    parser.add_argument("--feature-layer", type=int, help="vision_feature_layer (default the preset's, -1)")
    parser.add_argument("--world-scenes", action="store_true",
                        help="the world's own scene sampler (skewed frequencies, companions, printed text)")
    parser.add_argument("--phrasings", action="store_true",
                        help="the world's five yes/no phrasings and, half the time, the answer-format suffix")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    colours, shapes = VOCABULARIES[args.vocab]
    names = [f"{c} {s}" for c in colours for s in shapes]

    def scene(index: int) -> Scene:
        if args.world_scenes:
            return sample_scene(rng, f"{index:06d}", "train", TRAIN_TEXT_SHARE)
        objects = []
        for position in rng.sample(list(POSITIONS), rng.choice((1, 2, 3))):
            colour, shape, size = rng.choice(colours), rng.choice(shapes), rng.choice(("big", "small"))
            (x, y), j = SLOT_CENTRES[position], JITTER[size]
            cx, cy = x + rng.randint(-j, j), y + rng.randint(-j, j)
            objects.append(ShapeObject(shape, colour, size, position, cx, cy, RADIUS[size], COLOUR_RGB[colour]))
        return Scene(f"{index:06d}", "train", tuple(objects))

    def yesno(s: Scene) -> QA:
        present = s.object_names()
        if rng.random() < 0.5:
            name, answer = rng.choice(sorted(present)), "Yes"
        else:
            hard = [f"{o.colour} {p.shape}" for o in s.objects for p in s.objects if f"{o.colour} {p.shape}" not in present]
            absent = [n for n in names if n not in present]
            name, answer = (rng.choice(hard) if hard and rng.random() < args.hard else rng.choice(absent)), "No"
        listing = f"Objects: {', '.join(sorted(present))}. " if args.text_scene else ""
        a = "an" if name[0] in "aeiou" else "a"
        if args.phrasings:  # world/questions.py ask_yes_no's wordings, and instruct.py's suffix rate
            question = rng.choice((f"Is there {a} {name} in the image?", f"Is there {a} {name} in the image?",
                                   f"Is there {a} {name}?", f"Does the image contain {a} {name}?",
                                   f"Can you see {a} {name} in the picture?"))  # fmt: skip
            return listing + (f"{question}\n{SHORT_ANSWER}" if rng.random() < 0.5 else question), answer
        return f"{listing}Is there {a} {name} in the image?", answer

    def colour(s: Scene) -> QA | None:
        target = rng.choice(s.objects)
        if sum(o.shape == target.shape for o in s.objects) > 1:
            return None
        return f"What colour is the {target.shape}?", target.colour

    def caption(s: Scene) -> QA:
        ordered = sorted(s.objects, key=lambda o: POSITION_ORDER[o.position])
        return "Describe the image concisely.", " and ".join(f"a {o.size} {o.colour} {o.shape}" for o in ordered) + "."

    def say(_: Scene) -> QA:
        word = rng.choice(("Yes", "No"))
        return f"Please answer {word.lower()} now.", word

    writers: dict[str, Callable[[Scene], QA | None]] = {
        "yesno": yesno, "colour": colour, "say": say, "caption": caption,
        "count": lambda s: ("How many shapes are there?", str(len(s.objects))),
    }  # fmt: skip
    tasks = args.mix.split(",")

    def ask(s: Scene, task: str | None = None) -> QA:
        while (qa := writers[task or rng.choice(tasks)](s)) is None:
            pass
        return qa

    work = Path(tempfile.mkdtemp(prefix="presence_probe_"))
    (work / "images").mkdir()
    scenes = [scene(i) for i in range(args.images + HELD_OUT)]
    for s in scenes:
        drawing.save(s, work / "images")
    train, held = scenes[: args.images], scenes[args.images :]
    records = [
        {"id": f"{k}-{s.image_id}", "image": s.file_name,
         "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
        for k in range(2) for s in train for q, a in [ask(s)]
    ]  # fmt: skip
    held_qa = [ask(s, tasks[0]) for s in held]
    (work / "train.json").write_text(json.dumps(records))
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(f"{r['conversations'][0]['value']} {r['conversations'][1]['value']}" for r in records))

    if args.image_last:  # the collator and generate both place the image through this function
        def image_last(text: str) -> str:
            return text.replace("<image>", "").strip() + "\n<image>"

        training.data.user_text_with_image = image_last
        evaluation.generate.user_text_with_image = image_last
    if args.init or args.feature_layer:
        tiny_config = training.presets.tiny_config

        def config(*a: object, **k: object):  # noqa: ANN202
            made = tiny_config(*a, **k)  # type: ignore[arg-type]
            made.text_config.initializer_range = args.init or made.text_config.initializer_range
            made.vision_feature_layer = args.feature_layer or made.vision_feature_layer
            return made

        training.presets.tiny_config = config
    model, processor = training.presets.build_tiny(corpus, seed=args.seed, cache_dir=work, french=False)
    stage = template("english_base", "tiny")[1]
    parts = {p: dataclasses.replace(getattr(stage, p), lr=args.lr) for p in PARTS}
    stage = dataclasses.replace(
        stage, data=("en_finetune",), max_steps=args.steps, batch_size=args.batch, seed=args.seed,
        group_by_length=False, **parts,
    )  # fmt: skip
    started = time.perf_counter()
    log = Callbacks(on_log=lambda step, loss, lr: print(f"step {step} loss {loss:.3f}", flush=True))
    dataset = ConversationDataset.from_json(work / "train.json", work / "images")
    result = run_stage(model, processor, stage, dataset, work / "out", callbacks=log, log_every=100,
                       num_threads=args.threads, checkpoint_at_end=False)  # fmt: skip
    seconds = time.perf_counter() - started
    images = [work / "images" / s.file_name for s in held]
    own = generate_answers(result.model, processor, list(zip(images, [q for q, _ in held_qa])), max_new_tokens=3)
    other = [images[(i + 7) % len(images)] for i in range(len(images))]
    blind = generate_answers(result.model, processor, list(zip(other, [q for q, _ in held_qa])), max_new_tokens=3)
    truth = [a for _, a in held_qa]
    print(json.dumps({
        "args": vars(args), "train_s": round(seconds),
        "accuracy": sum(o == t for o, t in zip(own, truth)) / len(truth),
        "blind": sum(b == t for b, t in zip(blind, truth)) / len(truth),
        "yes_ratio": sum(o == "Yes" for o in own) / len(own),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
