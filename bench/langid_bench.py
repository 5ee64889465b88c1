"""Language identification: the checks' copy of langid against the maintained py3langid.

translation/checks.py reads langid's private model arrays and walks them its own way
(`_Classifier`). This bench times that copy and py3langid, both restricted to
`LANGID_LANGUAGES` with normalised probabilities as the checks use them, on what the
checks see: the world's LLaVA turns and captions in English, their apertium
translations into French, and into Spanish (the pivot a broken translation leaks).
Only texts of `LANGID_MIN_CHARS` or more count (shorter ones are never classified).

Two workloads, each distinct input classified once a pass (repeats are the checks'
caches' business, for either classifier), the copy with empty caches each pass as in a
fresh worker; the median pass counts:
- strings: every distinct text (a turn, a caption), `<image>` removed as the checks do;
- items: each distinct record's turns as the checks call `_detect_turns`, English
  (source), French (target) and Spanish (a leaked pivot).

It prints strings/s (and items/s), the labels each gets wrong against the language the
text was written or translated into, how many they disagree on, and how many texts fall
on different sides of `LANGID_CONFIDENT` (which decides `low` against `moderate`).
langid itself (the copy's reference) is timed too, for scale.

    .venv/bin/pip install py3langid==0.4.0   # for this bench only: the checks keep the copy
    nice .venv/bin/python -m world --size small --out /tmp/langid_world
    nice .venv/bin/python bench/langid_bench.py --world /tmp/langid_world [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from translation import checks  # noqa: E402
from translation.engines.apertium import ApertiumEngine  # noqa: E402
from translation.structure import translate_texts  # noqa: E402


def read_turns(world: Path) -> list[list[str]]:
    records = []
    for name in ("llava_instruct.json", "blip_laion_cc_sbu_558k.json"):
        records += json.loads((world / "llava" / name).read_text())
    return [[turn["value"] for turn in record["conversations"]] for record in records]


def translate(items: list[list[str]], target: str) -> list[list[str]]:
    engine = ApertiumEngine()
    try:
        distinct = sorted({turn for turns in items for turn in turns})
        # As a job does: `<image>`, option letters and fixed instructions kept out of the engine.
        translated = dict(zip(distinct, translate_texts(engine, distinct, "en", target)))
    finally:
        engine.close()
    return [[translated[turn] for turn in turns] for turns in items]


def py3langid_identifier():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        sys.exit("py3langid is not installed: .venv/bin/pip install py3langid==0.4.0")

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(checks.LANGID_LANGUAGES))
    return identifier


def joined_turns(turns: Sequence[str]) -> str:
    """The text `_detect_turns` classifies, as one string (what a plain classifier gets)."""
    return checks._plain("\n".join(turns))


def timed(makers: dict[str, Callable[[], Callable]], inputs: list, seconds: float) -> tuple[dict, dict]:
    """Each classifier's answers for `inputs` and its median rate over passes (each distinct
    input once, a fresh classifier each pass), the classifiers taking turns pass by pass for
    about `seconds` so that other load on the machine slows them alike."""
    answers: dict[str, list] = {}
    rates: dict[str, list[float]] = {who: [] for who in makers}
    started = time.perf_counter()
    while not answers or time.perf_counter() - started < seconds:
        for who, make in makers.items():
            classify = make()
            t0 = time.perf_counter()
            answers[who] = [classify(x) for x in inputs]
            rates[who].append(len(inputs) / (time.perf_counter() - t0))
    return answers, {who: statistics.median(r) for who, r in rates.items()}


def compare(name: str, inputs: list, truth: list[str], results: dict[str, list]) -> None:
    print(f"\n{name}: {len(inputs)} texts ({', '.join(f'{truth.count(l)} {l}' for l in sorted(set(truth)))})")
    for who, answers in results.items():
        wrong = [(t, a) for t, a in zip(truth, answers) if a[0] != t]
        wrong_sure = sum(a[1] >= checks.LANGID_CONFIDENT for _, a in wrong)
        right_unsure = sum(a[0] == t and a[1] < checks.LANGID_CONFIDENT for t, a in zip(truth, answers))
        print(
            f"  {who:10} wrong {len(wrong):4} (of which >= {checks.LANGID_CONFIDENT} sure: {wrong_sure:4}); "
            f"right but < {checks.LANGID_CONFIDENT} sure: {right_unsure:4}"
        )
        print(f"  {'':10} as the checks grade a target (fr wanted): {outcomes(truth, answers)}")
    (a_name, a), (b_name, b) = list(results.items())[:2]
    labels = [i for i in range(len(inputs)) if a[i][0] != b[i][0]]
    sure = checks.LANGID_CONFIDENT
    sides = [i for i in range(len(inputs)) if (a[i][1] >= sure) != (b[i][1] >= sure)]
    print(f"  {a_name} vs {b_name}: labels differ on {len(labels)}, the {checks.LANGID_CONFIDENT} side on {len(sides)}")
    for i in labels[:8]:
        right = a_name if a[i][0] == truth[i] else b_name if b[i][0] == truth[i] else "neither"
        print(
            f"    truth {truth[i]}: {a_name} {a[i][0]} {a[i][1]:.2f}, {b_name} {b[i][0]} {b[i][1]:.2f} "
            f"(right: {right}) {str(inputs[i])[:90]!r}"
        )


def outcomes(truth: list[str], answers: list[tuple[str, float]]) -> str:
    """What `suggest_grade` makes of each text as a French target: French texts wrongly
    graded down (low: another language >= LANGID_CONFIDENT; moderate: below it), and
    English or Spanish texts (an echo, a leaked pivot) graded low, moderate, or missed."""
    counts: dict[str, int] = {}
    for t, (language, confidence) in zip(truth, answers):
        verdict = "missed" if language == "fr" else "low" if confidence >= checks.LANGID_CONFIDENT else "moderate"
        counts[f"{t} {verdict}"] = counts.get(f"{t} {verdict}", 0) + 1
    counts.pop("fr missed", None)  # French read as French: nothing to say
    order = [f"{t} {v}" for t in ("fr", "en", "es") for v in ("low", "moderate", "missed")]
    return ", ".join(f"{key} {counts[key]}" for key in order if key in counts) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=Path("/tmp/langid_world"))
    parser.add_argument("--seconds", type=float, default=15.0, help="timing per workload (all three classifiers)")
    args = parser.parse_args()

    english = read_turns(args.world)
    started = time.perf_counter()
    by_lang = {"en": english, "fr": translate(english, "fr"), "es": translate(english, "es")}
    print(f"{len(english)} records; apertium en->fr and en->es took {time.perf_counter() - started:.1f} s")

    strings, string_truth = [], []
    for lang, items in by_lang.items():
        distinct = dict.fromkeys(checks._plain(turn) for turns in items for turn in turns)
        kept = [text for text in distinct if len(text) >= checks.LANGID_MIN_CHARS]
        strings += kept
        string_truth += [lang] * len(kept)
    items, item_truth = [], []
    for lang, lang_items in by_lang.items():
        # Distinct items only: the checks' report cache answers a repeated one for free.
        distinct_items = dict.fromkeys(tuple(turns) for turns in lang_items)
        kept = [list(turns) for turns in distinct_items if len(joined_turns(turns)) >= checks.LANGID_MIN_CHARS]
        items += kept
        item_truth += [lang] * len(kept)

    started = time.perf_counter()
    langid_reference = checks._identifier()
    langid_load = time.perf_counter() - started
    started = time.perf_counter()
    py3 = py3langid_identifier()
    py3_load = time.perf_counter() - started
    print(f"model load: langid {langid_load:.2f} s, py3langid {py3_load:.2f} s")

    for workload, inputs, truth, plain in (
        ("strings", strings, string_truth, lambda text: text),
        ("items", items, item_truth, joined_turns),
    ):
        results, speeds = timed(
            {
                "copy": lambda: fresh_copy(langid_reference, workload),
                "py3langid": lambda: lambda x: py3.classify(plain(x)),
                "langid": lambda: lambda x: langid_reference.classify(plain(x)),
            },
            inputs,
            args.seconds,
        )
        compare(workload, inputs, truth, results)
        print("  each distinct text once: " + ", ".join(f"{who} {speed:,.0f}/s" for who, speed in speeds.items()))
        print(f"  copy / py3langid: {speeds['copy'] / speeds['py3langid']:.2f}x")


def fresh_copy(identifier, workload: str) -> Callable:
    """The copy with empty caches, as in a fresh worker: `classify` for strings, the
    checks' `_detect_turns` for items (which asks the module for its classifier)."""
    classifier = checks._Classifier(identifier)
    checks._classifier = lambda: classifier  # type: ignore[assignment]
    return classifier.classify if workload == "strings" else checks._detect_turns

if __name__ == "__main__":
    main()
