"""ScienceQA-IMG multiple-choice scoring: letter parsing as the two references do it.

Two parsers, each a literal port of its reference:

``reference`` - LLaVA's llava/eval/eval_science_qa.py (LLaVA-1.5, haotian-liu/LLaVA):
  1. the whole prediction is one of the options "A".."E" (no stripping);
  2. otherwise it starts with an option letter followed by ". " ("B. sticky");
  3. otherwise ``re.compile(r'The answer is ([A-Z]).').findall`` must find exactly
     one match - note the unescaped "." needs one more character after the letter,
     so "The answer is B" at the very end fails and "The answer is Bob." gives B;
  4. otherwise "FAILED". ``get_pred_idx`` then maps the letter to its index only if
     it is among the first ``len(choices)`` options, else -1.
  Older LLaVA versions returned ``random.choice(range(len(choices)))`` for a failed
  parse; LLaVA-1.5 returns -1 (the random line is left unreachable). We follow
  LLaVA-1.5: a failed parse is simply wrong, so scores are deterministic.

``lmms-eval`` - lmms_eval/tasks/scienceqa/utils.py ``sqa_process_results``: the
  target is ``chr(ord('A') + answer)``; the prediction scores 1 if it equals the
  target exactly, or if it is at least two characters long, its first character is
  upper-case and its second is "." and that first character is the target. No
  lower-casing: the ``ignore_case`` option in scienceqa_img.yaml belongs to the
  built-in exact_match metric, which this custom ``process_results`` bypasses.

Neither scorer strips whitespace; both references receive text that their
generation code has already stripped (LLaVA model_vqa_science.py, lmms-eval's model
wrappers). ``training.metrics.scoring`` strips predictions once, the same way.
"""

from __future__ import annotations

import re

# eval_science_qa.py: parser.add_argument('--options', default=["A", "B", "C", "D", "E"])
OPTIONS: tuple[str, ...] = ("A", "B", "C", "D", "E")
_ANSWER_IS = re.compile(r"The answer is ([A-Z]).")


def target_letter(answer: int) -> str:
    """lmms-eval ``sqa_doc_to_target``: the letter of the correct choice index."""
    return chr(ord("A") + answer)


def parse_llava(prediction: str) -> str | None:
    """The letter eval_science_qa.py reads from a prediction, or None for "FAILED"."""
    if prediction in OPTIONS:
        return prediction
    if len(prediction) >= 3 and prediction[0] in OPTIONS and prediction[1:3] == ". ":
        return prediction[0]
    found = _ANSWER_IS.findall(prediction)
    if len(found) == 1:
        return str(found[0])
    return None


def llava_pred_index(letter: str | None, n_choices: int) -> int:
    """eval_science_qa.py ``get_pred_idx``: the choice index, -1 when not a valid option."""
    if letter is not None and letter in OPTIONS[:n_choices]:
        return OPTIONS.index(letter)
    return -1


def parse_lmms_eval(prediction: str) -> str | None:
    """The letter ``sqa_process_results`` effectively compares with the target.

    Its two tests - ``pred == target`` and ``pred[0].isupper() and pred[1] == "."`` -
    are equivalent to reading a letter this way and comparing it with the target.
    """
    if len(prediction) == 1:
        return prediction
    if len(prediction) >= 2 and prediction[0].isupper() and prediction[1] == ".":
        return prediction[0]
    return None


def llava_score(letter: str | None, answer: int, n_choices: int) -> float:
    """eval_science_qa.py's verdict on a parsed letter: ``pred_idx == prob['answer']``."""
    return 1.0 if llava_pred_index(letter, n_choices) == answer else 0.0


def lmms_eval_exact_match(prediction: str, answer: int) -> float:
    """lmms-eval ``sqa_process_results``' exact_match for one item (1.0 or 0.0)."""
    target = target_letter(answer)
    if prediction == target:
        return 1.0
    if len(prediction) >= 2 and prediction[0].isupper() and prediction[1] == ".":
        return 1.0 if prediction[0] == target else 0.0
    return 0.0
