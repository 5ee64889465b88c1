"""TextVQA's VQA accuracy with the EvalAI answer normalisation.

Reference: LLaVA's llava/eval/m4c_evaluator.py (``EvalAIAnswerProcessor`` and
``TextVQAAccuracyEvaluator``), itself copied from MMF's pythia/tasks/processors.py.
lmms-eval's lmms_eval/tasks/_task_utils/vqa_eval_metric.py carries the identical
processor, and lmms_eval/tasks/textvqa/utils.py (``textvqa_process_results``) the
same leave-one-out score. Every quirk is kept on purpose, because published TextVQA
numbers depend on them:

- commas are deleted outright in ``word_tokenize`` ("2,000" -> "2000"), which makes
  the ``COMMA_STRIP`` test in ``process_punctuation`` dead code in practice;
- ``PERIOD_STRIP`` is ``(?!<=\\d)(\\.)(?!\\d)`` - a typo for a look-behind, so it
  only spares a period followed by a digit ("3.14" survives, "end." does not);
- ``PERIOD_STRIP.sub("", text, re.UNICODE)`` passes ``re.UNICODE`` (32) as the
  *count*, so at most 32 periods are removed;
- the contractions table has capitalised keys ("Im", "Ive") that can never match
  the lower-cased text, and maps "somebody'd" to "somebodyd" (sic).

lmms-eval is followed as of its main at ``parsers.LMMS_EVAL_COMMIT``:
textvqa/utils.py last changed in c7eaef3 (2026-01-24, imports only) and
vqa_eval_metric.py in 2c03baf (2024-04-16); the processor is character-for-character
the one above.

The two references differ only at the edges: m4c asserts exactly ten reference
answers; lmms-eval accepts any number (``statistics.mean`` of the leave-one-out
values, which can differ from m4c's ``sum / len`` in the last bit when there are not
ten) and fails on an empty list. The score itself - the mean over the leave-one-out
subsets of ``min(matches / 3, 1)`` - is the same in both.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence

# m4c_evaluator.py EvalAIAnswerProcessor.CONTRACTIONS, verbatim (keys and values).
CONTRACTIONS: dict[str, str] = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've",
    "hes": "he's", "howd": "how'd", "howll": "how'll", "hows": "how's",
    "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
    "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at",
    "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's",
    "shouldve": "should've", "shouldnt": "shouldn't", "shouldnt've": "shouldn't've",
    "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've",
    "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've",
    "somethingll": "something'll", "thats": "that's", "thered": "there'd",
    "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're",
    "theyve": "they've", "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've",
    "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's",
    "whered": "where'd", "wheres": "where's", "whereve": "where've", "whod": "who'd",
    "whod've": "who'd've", "who'dve": "who'd've", "wholl": "who'll", "whos": "who's",
    "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's",
    "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all",
    "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd",
    "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}

# m4c_evaluator.py NUMBER_MAP ("manualMap" in the original VQA evaluation code).
NUMBER_MAP: dict[str, str] = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES: tuple[str, ...] = ("a", "an", "the")
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(?<=\d)(\,)+(?=\d)")
PUNCTUATIONS: tuple[str, ...] = (
    ";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-",
    ">", "<", "@", "`", ",", "?", "!",
)
# m4c passes re.UNICODE positionally, i.e. as the maximum number of substitutions.
_PERIOD_STRIP_COUNT = int(re.UNICODE)


def word_tokenize(text: str) -> str:
    """EvalAIAnswerProcessor.word_tokenize: lower-case, drop ',' and '?', split "'s"."""
    text = text.lower()
    text = text.replace(",", "").replace("?", "").replace("'s", " 's")
    return text.strip()


def process_punctuation(in_text: str) -> str:
    """EvalAIAnswerProcessor.process_punctuation.

    A punctuation mark next to a space (or any text with a digit-comma-digit run) is
    deleted; otherwise it becomes a space ("hello-world" -> "hello world"). The test
    looks at the *input* text for every mark, exactly as the reference does.
    """
    out_text = in_text
    for mark in PUNCTUATIONS:
        if (mark + " " in in_text or " " + mark in in_text) or (
            re.search(COMMA_STRIP, in_text) is not None
        ):
            out_text = out_text.replace(mark, "")
        else:
            out_text = out_text.replace(mark, " ")
    return PERIOD_STRIP.sub("", out_text, _PERIOD_STRIP_COUNT)


def process_digit_article(
    in_text: str,
    number_map: dict[str, str] = NUMBER_MAP,
    articles: Sequence[str] = ARTICLES,
    contractions: dict[str, str] = CONTRACTIONS,
) -> str:
    """EvalAIAnswerProcessor.process_digit_article: number words, articles, contractions.

    The tables are parameters only so the French-aware variant can extend them; the
    reference values are the defaults. (The reference's ``NUMBER_MAP.setdefault``
    mutates its table but never changes a result, so a plain lookup is used here.)
    """
    words = [number_map.get(word, word) for word in in_text.lower().split()]
    words = [word for word in words if word not in articles]
    return " ".join(contractions.get(word, word) for word in words)


def normalize_answer(text: str) -> str:
    """EvalAIAnswerProcessor.__call__: the full normalisation applied to every answer."""
    text = word_tokenize(text)
    text = text.replace("\n", " ").replace("\t", " ").strip()
    text = process_punctuation(text)
    return process_digit_article(text)


def vqa_accuracy(
    prediction: str,
    gt_answers: Sequence[str],
    normalize: Callable[[str], str] = normalize_answer,
) -> float:
    """Soft VQA accuracy of one prediction against its human answers.

    m4c_evaluator.py TextVQAAccuracyEvaluator: for each of the n leave-one-out subsets
    of the reference answers, ``min(matches / 3, 1)``; the score is their mean. With
    ten answers a prediction given by 3 or more annotators scores 1, by 2 scores 0.6,
    by 1 scores 0.3. An empty answer list scores 0 (lmms-eval's ``answers is None``).
    """
    if not gt_answers:
        return 0.0
    pred = normalize(prediction)
    answers = [normalize(answer) for answer in gt_answers]
    accs = []
    for left_out in range(len(answers)):
        matches = sum(
            1 for j, answer in enumerate(answers) if j != left_out and answer == pred
        )
        accs.append(min(1.0, matches / 3))
    return sum(accs) / len(accs)


def lmms_eval_vqa_accuracy(prediction: str, gt_answers: Sequence[str]) -> float:
    """lmms-eval ``textvqa_process_results``' exact_match for one question.

    The same leave-one-out score as ``vqa_accuracy`` but averaged with
    ``statistics.mean`` (exact to the last bit for any number of answers). An empty
    answer list is an error there (``statistics.mean([])`` raises); here too.
    """
    if not gt_answers:
        raise ValueError("lmms-eval cannot score a question with an empty answer list")
    pred = normalize_answer(prediction)
    answers = [normalize_answer(answer) for answer in gt_answers]
    accs = []
    for left_out in range(len(answers)):
        matches = sum(
            1 for j, answer in enumerate(answers) if j != left_out and answer == pred
        )
        accs.append(min(1, float(matches) / 3))
    return statistics.mean(accs)
