"""Structure-safe translation: what reaches the engine, and what comes back intact."""

from __future__ import annotations

import pytest

from translation.checks import run_checks
from translation.engines.apertium import ApertiumEngine
from translation.engines.base import BatchResult, Engine, Usage
from translation.inference import answer_to_french, answers_to_french, question_to_english
from translation.structure import ItemSource, split_segment, translate_item, translate_items


class FakeEngine(Engine):
    """Deterministic: "x" -> "fr:x" (or "en:x"); records every batch it is sent."""

    name = "fake"

    def __init__(self, max_segment_chars: int = 4000) -> None:
        self.max_segment_chars = max_segment_chars
        self.calls: list[list[str]] = []

    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        self.calls.append(list(texts))
        return BatchResult([f"{target}:{text}" for text in texts], Usage(requests=1))

    @property
    def sent(self) -> list[str]:
        return [text for call in self.calls for text in call]


def human(value: str) -> dict[str, str]:
    return {"from": "human", "value": value}


def gpt(value: str) -> dict[str, str]:
    return {"from": "gpt", "value": value}


def test_image_token_and_line_structure_never_reach_the_engine() -> None:
    engine = FakeEngine()
    result = translate_item(
        engine, [human("<image>\nWhat colour is the circle?\n\nLook closely."), gpt("Red.")], {}, "colour"
    )
    assert result.conversations[0] == human("<image>\nfr:What colour is the circle?\n\nfr:Look closely.")
    assert result.conversations[1] == gpt("fr:Red.")
    assert not any("<image>" in text or "\n" in text for text in engine.sent)


def test_engine_line_breaks_inside_a_segment_cannot_change_the_line_count() -> None:
    class Chatty(FakeEngine):
        def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
            return BatchResult([f"Voici :\n{text}\n" for text in texts])

    result = translate_item(Chatty(), [human("<image>\nWhat is it?")], {}, "caption")
    assert result.conversations[0]["value"] == "<image>\nVoici : What is it?"


def test_option_letters_stay_and_only_option_text_is_translated() -> None:
    engine = FakeEngine()
    question = (
        "<image>\nWhich shape is red?\nA. circle\nB) square\n(C) star\nAnswer with the option's letter."
    )
    result = translate_item(engine, [human(question), gpt("B")], {}, "multiple_choice")
    assert result.conversations[0]["value"] == (
        "<image>\nfr:Which shape is red?\nA. fr:circle\nB) fr:square\n(C) fr:star\n"
        "fr:Answer with the option's letter."
    )
    assert result.conversations[1]["value"] == "B"  # a bare letter is copied
    assert "B" not in engine.sent and "circle" in engine.sent


def test_answer_format_instructions_get_their_fixed_translation_not_the_engine_s() -> None:
    engine = FakeEngine()
    short = "<image>\nIs there a red star?\nAnswer the question using a single word or phrase."
    letter = "<image>\nWhich colour?\nA. red\nB. blue\nAnswer with the option's letter from the given choices directly."
    result = translate_items(engine, [ItemSource([human(short), gpt("Yes")], {}, "yes_no"),
                                      ItemSource([human(letter), gpt("A")], {}, "multiple_choice")])  # fmt: skip
    assert result[0].conversations[0]["value"] == (
        "<image>\nfr:Is there a red star?\nRépondez à la question en utilisant un seul mot ou une seule expression."
    )
    assert result[1].conversations[0]["value"].endswith(
        "\nRépondez directement avec la lettre de l'option parmi les choix proposés."
    )
    assert not any(text.startswith("Answer") for text in engine.sent)


@pytest.mark.parametrize(
    ("answer", "french"), [("Yes", "Oui"), ("yes", "oui"), ("No.", "Non."), ("NO", "NON"), ("no!", "non!")]
)
def test_yes_no_answers_become_oui_non_without_the_engine(answer: str, french: str) -> None:
    engine = FakeEngine()
    result = translate_item(engine, [human("<image>\nIs there a dog?"), gpt(answer)], {}, "yes_no")
    assert result.conversations[1]["value"] == french
    assert engine.sent == ["Is there a dog?"]
    assert result.segments[1].method == "rule"


def test_pope_label_becomes_oui_non_and_the_split_is_kept() -> None:
    engine = FakeEngine()
    meta = {"label": "no", "split": "adversarial", "question_id": 7}
    result = translate_item(engine, [human("<image>\nIs there a cat in the image?"), gpt("No")], meta, "pope")
    assert result.meta == {"label": "non", "split": "adversarial", "question_id": 7}
    assert result.conversations[1]["value"] == "Non"
    assert meta["label"] == "no"  # the source item is not modified


def test_scienceqa_choices_are_translated_and_the_answer_index_kept() -> None:
    engine = FakeEngine()
    meta = {
        "choices": ["the sun", "the moon", "42"],
        "answer": 1,
        "hint": "Think about light.",
        "subject": "natural science",
    }
    question = "<image>\nWhich gives light?\nA. the sun\nB. the moon\nC. 42"
    result = translate_item(engine, [human(question), gpt("A")], meta, "scienceqa")
    assert result.meta["choices"] == ["fr:the sun", "fr:the moon", "42"]
    assert result.meta["answer"] == 1 and result.meta["subject"] == "natural science"
    assert result.meta["hint"] == "fr:Think about light."
    # The option lines and the choices list are one segment each: they agree.
    assert result.conversations[0]["value"].endswith("A. fr:the sun\nB. fr:the moon\nC. 42")
    assert engine.sent.count("the sun") == 1


def test_textvqa_answers_are_translated_once_each_and_consistently() -> None:
    engine = FakeEngine()
    answers = ["stop", "stop", "stop sign", "stop", "red", "stop", "stop sign", "stop", "stop", "12"]
    result = translate_item(
        engine, [human("<image>\nWhat does the sign say?"), gpt("stop")], {"answers": answers}, "textvqa"
    )
    assert result.meta["answers"] == [a if a == "12" else f"fr:{a}" for a in answers]
    assert sorted(engine.sent) == sorted(["What does the sign say?", "stop", "stop sign", "red"])
    assert result.conversations[1]["value"] == "fr:stop"


def test_reading_answers_are_the_printed_text_and_stay_verbatim() -> None:
    engine = FakeEngine()
    result = translate_item(engine, [human("<image>\nWhat word is written?"), gpt("apple")], {}, "reading")
    assert result.conversations[1]["value"] == "apple"
    assert engine.sent == ["What word is written?"]


def test_numbers_and_empty_strings_need_no_engine_call() -> None:
    engine = FakeEngine()
    result = translate_item(engine, [human("<image>"), gpt("3"), gpt(""), gpt("  ")], {"hint": ""}, "count")
    assert [t["value"] for t in result.conversations] == ["<image>", "3", "", "  "]
    assert engine.calls == []


def test_long_segments_are_split_at_sentence_ends_and_rejoined() -> None:
    engine = FakeEngine(max_segment_chars=40)
    text = "The red circle is large. It sits above the square.  A star is next to it!"
    result = translate_item(engine, [gpt(text)], {}, "caption")
    assert engine.sent == ["The red circle is large.", "It sits above the square.", "A star is next to it!"]
    assert result.conversations[0]["value"] == (
        "fr:The red circle is large. fr:It sits above the square.  fr:A star is next to it!"
    )
    assert result.segments[0].chunks == 3 and all(len(s) <= 40 for s in engine.sent)


def test_a_sentence_longer_than_the_limit_is_split_between_words() -> None:
    chunks, gaps = split_segment("one two three four five six seven", 10)
    assert all(len(c) <= 10 for c in chunks)
    rebuilt = chunks[0] + "".join(g + c for g, c in zip(gaps, chunks[1:]))
    assert rebuilt == "one two three four five six seven"


def test_a_whole_batch_of_items_is_one_engine_call_with_shared_segments() -> None:
    engine = FakeEngine()
    items = [
        ItemSource([human("<image>\nWhat colour is the circle?"), gpt("Red.")], {}, "colour"),
        ItemSource([human("<image>\nWhat colour is the circle?"), gpt("Blue.")], {}, "colour"),
        ItemSource([human("<image>\nIs it big?"), gpt("Yes")], {"label": "yes"}, "pope"),
    ]
    batch = translate_items(engine, items)
    assert len(engine.calls) == 1 and batch.engine_segments == 4
    assert engine.sent.count("What colour is the circle?") == 1
    assert [item.conversations[1]["value"] for item in batch] == ["fr:Red.", "fr:Blue.", "Oui"]
    assert batch[2].meta == {"label": "oui"}


def test_unknown_task_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown task_type 'vqa'.*'caption'"):
        translate_item(FakeEngine(), [human("Hi")], {}, "vqa")


def test_inference_direction_keeps_letters_and_yes_no() -> None:
    engine = FakeEngine()
    assert question_to_english(engine, "<image>\nQuelle forme ?\nA. cercle\nB. carré") == (
        "<image>\nen:Quelle forme ?\nA. en:cercle\nB. en:carré"
    )
    assert answer_to_french(engine, "Yes") == "Oui"
    assert answers_to_french(engine, ["B", "No.", "A red circle."]) == ["B", "Non.", "fr:A red circle."]


def test_real_apertium_translation_of_a_multiple_choice_item_keeps_its_structure() -> None:
    conversations = [
        human("<image>\nWhat colour is the big circle?\nA. red\nB. blue\nC. green"),
        gpt("B"),
        human("Is there a small square next to it?"),
        gpt("Yes."),
    ]
    meta = {"choices": ["red", "blue", "green"], "answer": 1}
    result = translate_item(ApertiumEngine(), conversations, meta, "multiple_choice")
    question = result.conversations[0]["value"]
    assert question.startswith("<image>\n") and "\nA. rouge\nB. bleu\nC. vert" in question
    assert [t["value"] for t in result.conversations[1:]][::2] == ["B", "Oui."]
    assert result.meta == {"choices": ["rouge", "bleu", "vert"], "answer": 1}
    assert run_checks(conversations, result.conversations)["structure_ok"]


def test_inline_options_of_llava_scienceqa_prompts_keep_their_letters() -> None:
    engine = FakeEngine()
    question = "Which is a mammal?\nContext: Look at the animals.\nOptions: (A) a cat (B) a snake"
    result = translate_item(engine, [human(question)], {}, "scienceqa")
    assert result.conversations[0]["value"] == (
        "fr:Which is a mammal?\nfr:Context: Look at the animals.\nfr:Options: (A) fr:a cat (B) fr:a snake"
    )
