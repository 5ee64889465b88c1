"""What the miniature study runs, and how big each part is (pure Python).

The study (arXiv 2512.10336) in one plan: translate the world's training data and
benchmarks, audit, keep three cuts of the French data (every translation, at least
moderate, high only), train the English base, then variants 2-4 on each cut, and
evaluate every model, the translation-only pipeline (variant 1) included, on the
French and English benchmarks. The budgets keep the `full` world under 15 minutes on
2 CPU cores; `small` is the CI-sized version of the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STEPS: tuple[str, ...] = ("world", "import", "translate", "campaign", "snapshots", "english_base", "variants", "evaluate")
STEP_TITLES = {
    "world": "Generate the miniature world",
    "import": "Import English data and benchmarks",
    "translate": "Translate to French (with automatic checks)",
    "campaign": "Open the audit campaign",
    "snapshots": "Build snapshots for the three rules",
    "english_base": "Train the English base",
    "variants": "Train variants 2, 3 and 4 on each rule",
    "evaluate": "Evaluate every model, translation-only included",
}
# Rule name -> the export rule's min_grade. Translations nobody graded count with their
# suggested (automatic) grade, labelled as such in every snapshot.
RULES: dict[str, str] = {"all": "low", "moderate": "moderate", "high": "high"}
VARIANTS: tuple[str, ...] = ("variant2", "variant3", "variant4")
VARIANT_TITLES = {
    "english_base": "English base",
    "translation_only": "1 · translation-only",
    "variant2": "2 · EN pretraining → FR LoRA",
    "variant3": "3 · FR pretraining → FR finetuning",
    "variant4": "4 · double finetuning",
}
# (benchmark, split, world dataset): the world's three benchmarks, POPE per split.
BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    ("scienceqa", "test", "world-scienceqa"),
    ("textvqa", "val", "world-textvqa"),
    ("pope", "random", "world-pope"),
    ("pope", "popular", "world-pope"),
    ("pope", "adversarial", "world-pope"),
)
TRAINING_DATASETS = {"captions": "world-captions", "instruct": "world-instruct"}
# The error kinds the paper's audit found, put into the French *training* data at known
# rates (translation/injection.py; benchmarks stay clean), so the study can count how
# many of each every rule kept. Seeded: a rerun injects the same errors.
INJECTED_ERRORS: dict[str, float | int] = {
    "inject_answer_changed": 0.10, "inject_meaning_changed": 0.10, "inject_untranslated": 0.05, "inject_seed": 0,
}  # fmt: skip
# The study's campaign is graded by simulated annotators (audit/simulated.py), labelled
# as such on every page, so its rules differ by grades, not only by automatic checks.
SIMULATED_ANNOTATORS = 2


@dataclass(frozen=True)
class Budget:
    """How much of everything one study size runs."""

    instruct_translations: int | None  # None: every instruction record
    caption_translations: int | None
    campaign_sample: int
    base_steps: dict[str, int]  # stage name -> optimizer steps
    variant_steps: dict[str, int]
    batch_size: int
    eval_items: int | None  # per benchmark split; None: all
    # Per-stage batch sizes of the English base where they differ from batch_size.
    base_batch_sizes: dict[str, int] = field(default_factory=dict)
    benchmarks: tuple[tuple[str, str, str], ...] = BENCHMARKS
    # Every expected answer is a letter or a word: the miniature study caps generation at
    # 16 tokens (the references' 128 would only make its collapsed models ramble longer).
    max_new_tokens: int = 16


BUDGETS: dict[str, Budget] = {
    # CI: every step runs for real, on a handful of steps and items.
    "small": Budget(
        instruct_translations=None, caption_translations=None, campaign_sample=20,
        base_steps={"pretrain": 4, "finetune": 4}, variant_steps={"pretrain": 2, "finetune": 3,
        "finetune_vision": 2, "finetune_language": 2}, batch_size=4, eval_items=12,
        benchmarks=(BENCHMARKS[0], BENCHMARKS[2]),
    ),
    # The miniature study: <= 15 minutes on 2 CPU cores (docs/study.md has a real run).
    "full": Budget(
        instruct_translations=6000, caption_translations=3000, campaign_sample=1500,
        # The base finetunes 1,500 steps of 32, not 2,000 of 16: with 16, presence was learned on
        # 1 seed of 3, with 32 on 2 of 3 (docs/performance.md, "World v3: seeds").
        base_steps={"pretrain": 300, "finetune": 1500}, variant_steps={"pretrain": 30, "finetune": 100,
        "finetune_vision": 50, "finetune_language": 60}, batch_size=16, eval_items=150,
        base_batch_sizes={"finetune": 32},
    ),
}  # fmt: skip


def budget(world_size: str) -> Budget:
    try:
        return BUDGETS[world_size]
    except KeyError:
        raise ValueError(f"unknown world size {world_size!r}; expected one of {', '.join(BUDGETS)}") from None
