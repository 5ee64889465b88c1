"""What each parser name means, per benchmark - the one place that decides it.

``reference``  LLaVA's evaluation scripts (eval_science_qa.py, m4c_evaluator.py via
               eval_textvqa.py, eval_pope.py): the numbers papers report.
``lmms-eval``  lmms-eval's task code (scienceqa/utils.py, textvqa/utils.py,
               pope/utils.py) on its main branch at ``LMMS_EVAL_COMMIT``, which
               differs from LLaVA in places (see each module).
``french``     this project's French-aware variants (french.py), reported separately.

Every function takes predictions as the reference scorers receive them: stripped of
surrounding whitespace by the generation code (see scoring.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluation.metrics import french, pope, scienceqa, textvqa

# The lmms-eval snapshot (EvolvingLMMs-Lab/lmms-eval, branch main) whose task code the
# ``lmms-eval`` parser reproduces; tests/evaluation/test_metrics_lmms_eval_parity.py
# holds that code as its oracle. Re-read those files before moving this.
LMMS_EVAL_COMMIT = "75571cfe0fa36ca5ec2e6aa2bb268f9d38295af3"
LMMS_EVAL_COMMIT_DATE = "2026-08-06"

REFERENCE = "reference"
LMMS_EVAL = "lmms-eval"
FRENCH = french.FRENCH
PARSERS: tuple[str, ...] = (REFERENCE, LMMS_EVAL, FRENCH)


def check_parser(parser: str) -> None:
    if parser not in PARSERS:
        raise ValueError(f"unknown parser {parser!r}; expected one of {', '.join(PARSERS)}")


def scienceqa_letter_parser(parser: str) -> Callable[[str], str | None]:
    """The function reading an option letter (None when the parse fails)."""
    check_parser(parser)
    return {
        REFERENCE: scienceqa.parse_llava,
        LMMS_EVAL: scienceqa.parse_lmms_eval,
        FRENCH: french.parse_scienceqa_french,
    }[parser]


def scienceqa_scores(
    predictions: Sequence[str],
    answers: Sequence[int],
    n_choices: Sequence[int],
    parser: str = REFERENCE,
) -> list[float]:
    """Per-item correctness (1.0 / 0.0).

    ``reference`` and ``french`` send the letter through LLaVA's ``get_pred_idx`` (a
    letter beyond the item's choices is wrong); ``lmms-eval`` uses its exact match.
    """
    if not len(predictions) == len(answers) == len(n_choices):
        raise ValueError("predictions, answers and choice counts differ in length")
    if parser == LMMS_EVAL:
        return [
            scienceqa.lmms_eval_exact_match(p, a)
            for p, a in zip(predictions, answers, strict=True)
        ]
    parse = scienceqa_letter_parser(parser)
    return [
        scienceqa.llava_score(parse(p), a, n)
        for p, a, n in zip(predictions, answers, n_choices, strict=True)
    ]


def textvqa_normalizer(parser: str) -> Callable[[str], str]:
    """The answer normalisation: EvalAI's for both references, else the French one."""
    check_parser(parser)
    return french.normalize_answer_french if parser == FRENCH else textvqa.normalize_answer


def textvqa_scores(
    predictions: Sequence[str],
    gt_answers: Sequence[Sequence[str]],
    parser: str = REFERENCE,
) -> list[float]:
    """Per-question VQA accuracy.

    ``reference`` keeps m4c's ``assert len(answers) == 10`` (as a ValueError naming
    the question's position); ``lmms-eval`` accepts any number but none (its
    ``statistics.mean([])`` fails); ``french`` accepts any number (none scores 0).
    """
    if len(predictions) != len(gt_answers):
        raise ValueError("predictions and answer lists differ in length")
    if parser == REFERENCE:
        for index, answers in enumerate(gt_answers):
            if len(answers) != 10:
                raise ValueError(
                    f"question at position {index} has {len(answers)} reference "
                    "answers; the m4c evaluator needs exactly 10"
                )
    if parser == LMMS_EVAL:
        for index, answers in enumerate(gt_answers):
            if not answers:
                raise ValueError(
                    f"question at position {index} has no reference answers; "
                    "lmms-eval's textvqa_process_results cannot score it"
                )
        return [
            textvqa.lmms_eval_vqa_accuracy(p, a)
            for p, a in zip(predictions, gt_answers, strict=True)
        ]
    normalize = textvqa_normalizer(parser)
    return [
        textvqa.vqa_accuracy(p, a, normalize)
        for p, a in zip(predictions, gt_answers, strict=True)
    ]


def pope_answer_parser(parser: str) -> Callable[[str], str]:
    """The function turning an answer into "yes"/"no" (lmms-eval: its cleaned text)."""
    check_parser(parser)
    return {
        REFERENCE: pope.parse_llava,
        LMMS_EVAL: pope.parse_lmms_eval,
        FRENCH: french.parse_pope_french,
    }[parser]


def pope_scores(
    predictions: Sequence[str], labels: Sequence[str], parser: str = REFERENCE
) -> pope.PopeMetrics:
    """POPE metrics of one split; lmms-eval aggregates its own way (see pope.py)."""
    parsed = [pope_answer_parser(parser)(p) for p in predictions]
    if parser == LMMS_EVAL:
        return pope.lmms_eval_metrics(parsed, labels)
    return pope.llava_metrics(parsed, labels)
