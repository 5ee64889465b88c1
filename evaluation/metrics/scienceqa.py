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

``lmms-eval`` - lmms_eval/tasks/scienceqa/utils.py ``sqa_process_results`` as of
  lmms-eval main at ``parsers.LMMS_EVAL_COMMIT`` (the function last changed in
  8ada805, 2025-07-04, PR #723 "fix a bug in post processing stage of ScienceQA"):
  the target is the choice's letter, stripped and lower-cased; the prediction is
  stripped. It scores 1 if ``pred.lower() == target`` ("b" and " B " are right), or,
  if it is at least two characters long with an upper-case first character and "."
  second, if that first character lower-cased is the target ("B." and "B.sticky"
  are right, "b." is not). Anything else scores 0: "(B)", "The answer is B.".
  Before PR #723 (from f06f8e6, 2024-07-30) it lower-cased the prediction first,
  so the "upper-case then ." branch could never match and "B." scored 0. This
  project had ported the case-sensitive code from before f06f8e6 (no strip, no
  lower-casing: "b" scored 0); it now follows main.

LLaVA's scorer does not strip whitespace: it receives text that its generation code
has already stripped (model_vqa_science.py). ``evaluation.metrics.scoring`` strips
predictions once, the same way; lmms-eval's own ``.strip()`` is then a no-op.
"""

from __future__ import annotations

import re
import string

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


def _lmms_eval_key(prediction: str) -> str:
    """The lower-case text ``sqa_process_results`` compares with the lower-cased target.

    Its two tests are exclusive: when the "upper-case then ." pattern applies,
    ``pred.lower()`` is at least two characters and cannot equal a one-letter target,
    so the score is 1 exactly when this key equals the target.
    """
    pred = prediction.strip()
    if len(pred) >= 2 and pred[0].isupper() and pred[1] == ".":
        return pred[0].lower()
    return pred.lower()


def parse_lmms_eval(prediction: str) -> str | None:
    """The option letter ``sqa_process_results`` reads (upper-case), or None.

    A one-character key that is no ASCII letter ("1", "é") is returned as it is: it is
    read, just never right. Only ASCII keys are upper-cased, because "ı".upper() is
    "I" although lmms-eval never matches "ı" with "i".
    """
    key = _lmms_eval_key(prediction)
    if len(key) != 1:
        return None
    return key.upper() if key in string.ascii_lowercase else key


def llava_score(letter: str | None, answer: int, n_choices: int) -> float:
    """eval_science_qa.py's verdict on a parsed letter: ``pred_idx == prob['answer']``."""
    return 1.0 if llava_pred_index(letter, n_choices) == answer else 0.0


def lmms_eval_exact_match(prediction: str, answer: int) -> float:
    """lmms-eval ``sqa_process_results``' exact_match for one item (1.0 or 0.0).

    A line-for-line port of lmms_eval/tasks/scienceqa/utils.py at 8ada805 (PR #723),
    unchanged on main up to ``parsers.LMMS_EVAL_COMMIT``.
    """
    target = target_letter(answer).strip().lower()
    pred = prediction.strip()
    if pred.lower() == target:
        return 1.0
    # pattern: ^[A-Z]\. .*
    if len(pred) >= 2 and pred[0].isupper() and pred[1] == ".":
        return 1.0 if pred[0].lower() == target else 0.0
    return 0.0
