"""Apertium engine: real Debian pairs, one pipeline per batch, exact segment boundaries."""

from __future__ import annotations

import pytest

from translation.engines import ENGINES, EngineError, EngineUnavailable, UnknownEngine, get_engine
from translation.engines.apertium import INSTALL_HINT, ApertiumEngine, decode_stream, encode_segment

TRICKY = [
    "The cat is on the table.",
    "",
    "Line one\nline two: 3.5 apples!",
    "A. red\n\nB. blue",
    "  two leading spaces, two trailing  ",
    "   ",
    "Is there a zorblax in the image?",
    "Brackets [x], braces {y}, ^carets$, a/b, <i>, *stars*, #3, back\\slash and user@example.com",
    "How many? 1,000 or 42% or 7",
    "\t",
    "What colour is the circle?",
    "It is red.",
]


@pytest.fixture(scope="module")
def engine() -> ApertiumEngine:
    return ApertiumEngine()


@pytest.fixture(scope="module")
def tricky_fr(engine: ApertiumEngine) -> list[str]:
    return engine.translate(TRICKY, "en", "fr").outputs


def test_registry_builds_apertium_and_rejects_unknown_names() -> None:
    assert set(ENGINES) == {"apertium", "openai", "vllm", "hf"}
    assert isinstance(get_engine("apertium"), ApertiumEngine)
    with pytest.raises(UnknownEngine, match="apertium, hf, openai, vllm") as error:
        get_engine("deepl")
    assert isinstance(error.value, ValueError)


def test_batch_keeps_one_output_per_segment_in_order(tricky_fr: list[str]) -> None:
    assert len(tricky_fr) == len(TRICKY)
    # Whitespace-only and empty segments come back untouched.
    assert tricky_fr[1] == "" and tricky_fr[5] == "   " and tricky_fr[9] == "\t"
    assert "chat" in tricky_fr[0] and "table" in tricky_fr[0]
    assert "cercle" in tricky_fr[10]
    assert "rouge" in tricky_fr[11]


def test_line_breaks_spacing_and_numbers_survive(tricky_fr: list[str]) -> None:
    assert tricky_fr[2].count("\n") == 1 and "3.5" in tricky_fr[2]
    # (Apertium reads the option letter "A." as an article: translation.structure
    # keeps letters away from engines.)
    assert len(tricky_fr[3].split("\n\n")) == 2 and "B. " in tricky_fr[3]
    assert tricky_fr[4].startswith("  ") and tricky_fr[4].endswith("  ")
    for number in ("1,000", "42%", "7"):
        assert number in tricky_fr[8]


def test_reserved_characters_pass_through_and_unknown_marks_are_removed(tricky_fr: list[str]) -> None:
    for literal in ("[x]", "{", "^", "$", "/b", "<i>", "*", "#3", "\\", "@example.com"):
        assert literal in tricky_fr[7], literal
    assert "zorblax" in tricky_fr[6] and "*zorblax" not in tricky_fr[6]


def test_segments_are_translated_independently_of_their_neighbours(
    engine: ApertiumEngine, tricky_fr: list[str]
) -> None:
    reversed_fr = engine.translate(TRICKY[::-1], "en", "fr").outputs
    assert reversed_fr[::-1] == tricky_fr
    assert engine.translate([TRICKY[3]], "en", "fr").outputs == [tricky_fr[3]]


def test_a_large_batch_keeps_every_boundary(engine: ApertiumEngine) -> None:
    texts = [f"Picture {i} shows {i % 7 + 2} green squares." for i in range(300)]
    outputs = engine.translate(texts, "en", "fr").outputs
    assert len(outputs) == 300
    for i, output in enumerate(outputs):
        assert output.startswith(f"Image {i} ") or f" {i} " in output, output
        assert f"{i % 7 + 2}" in output


def test_pivot_through_spanish_works_both_ways(engine: ApertiumEngine) -> None:
    result = engine.translate(["The cat is red.", "Le chat est rouge."], "en", "fr")
    assert result.outputs[0] == "Le chat est rouge."
    assert result.usage.requests == 2  # one process per stage: eng-spa, es-fr
    back = engine.translate(["Le chat est rouge."], "fr", "en").outputs
    assert back == ["The cat is red."]


def test_lower_case_answers_stay_lower_case_and_get_translated(engine: ApertiumEngine) -> None:
    # eng-spa capitalises "red" -> "Rojo", which es-fr would leave untranslated.
    assert engine.translate(["red", "blue", "Green"], "en", "fr").outputs == ["rouge", "bleu", "Vert"]


def test_missing_pair_says_what_to_install(engine: ApertiumEngine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EngineUnavailable, match="no en->de pair") as error:
        engine.translate(["Hello"], "en", "de")
    assert INSTALL_HINT in str(error.value)
    without_pairs = ApertiumEngine(datadir=str(tmp_path))
    with pytest.raises(EngineUnavailable, match="eng-spa, es-fr missing") as error:
        without_pairs.translate(["Hello"], "en", "fr")
    assert "apt-get install apertium apertium-eng-spa apertium-fr-es" in str(error.value)


def test_missing_apertium_binary_says_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match="apt-get install apertium"):
        ApertiumEngine(executable="/nonexistent/apertium")


def test_stream_encoding_round_trips_without_apertium() -> None:
    text = "a [b] ^c$ @d *e #f \\g\n\th  i"
    assert decode_stream(encode_segment(text) + "\x00") == [text]


def test_a_pipeline_over_its_time_limit_is_stopped_with_a_clear_error() -> None:
    slow = ApertiumEngine(timeout=0.05)
    with pytest.raises(EngineError, match="eng-spa\\+es-fr took longer than 0.05 s"):
        slow.translate([f"Sentence number {i} is here." for i in range(3000)], "en", "fr")


def _per_batch(engine: ApertiumEngine, texts: list[str]) -> list[str]:
    """What the engine answered before its pipelines were kept: one `apertium` process per
    stage for the whole batch, marks removed and case fixed between the stages."""
    import subprocess

    from translation.engines.apertium import _lower_first_letter, lower_initial, remove_marks, starts_lowercase

    lower = [starts_lowercase(text) for text in texts]
    stream = "".join(encode_segment(text) + "\x00" for text in texts)
    for stage, mode in enumerate(("eng-spa", "es-fr")):
        if stage:
            segments = stream.split("\x00")[: len(texts)]
            stream = "".join((lower_initial(remove_marks(s)) if low else remove_marks(s)) + "\x00" for s, low in zip(segments, lower))
        stream = subprocess.run(
            [engine.executable, "-d", engine.datadir, "-f", "none", "-z", mode],
            input=stream.encode(), capture_output=True, check=True,
        ).stdout.decode()  # fmt: skip
    outputs = decode_stream(stream)[: len(texts)]
    return [_lower_first_letter(out) if low else out for out, low in zip(outputs, lower)]


def test_kept_pipelines_answer_byte_for_byte_as_one_process_per_batch(small_world) -> None:
    import json

    from translation.structure import ItemSource, engine_segments

    items = [item for name in ("llava_instruct", "blip_laion_cc_sbu_558k")
             for item in json.loads((small_world / f"llava/{name}.json").read_text())[:300]]  # fmt: skip
    texts = engine_segments([ItemSource(i["conversations"], {}, "conversation") for i in items], 20_000)
    assert len(texts) > 100
    engine = ApertiumEngine()
    kept = [out for offset in range(0, len(texts), 64) for out in engine.translate(texts[offset : offset + 64], "en", "fr").outputs]
    engine.close()
    assert kept == _per_batch(engine, texts)


def test_pipelines_live_across_batches_restart_when_killed_and_stop_on_close() -> None:
    import os
    import signal

    engine = ApertiumEngine()
    first = engine.translate(["The cat is red."], "en", "fr").outputs
    pids = [p.pid for pipeline in engine._idle for p in pipeline.procs]
    assert engine.translate(["The cat is red."], "en", "fr").outputs == first
    assert [p.pid for pipeline in engine._idle for p in pipeline.procs] == pids  # the same processes
    os.killpg(pids[0], signal.SIGKILL)  # a stage dies between batches
    assert engine.translate(["The cat is red."], "en", "fr").outputs == first
    procs = [p for pipeline in engine._idle for p in pipeline.procs]
    assert [p.pid for p in procs] != pids
    engine.close()
    assert not engine._idle and all(p.poll() is not None for p in procs)


def test_words_left_in_the_pivot_are_reported_and_lower_the_suggested_grade(engine: ApertiumEngine) -> None:
    from translation.checks import run_checks

    texts = ["Is there a purple circle?", "Is there a red circle?", "Is the blorfy cat red?"]
    result = engine.translate(texts, "en", "fr")
    left = result.usage.left_words
    assert "*" not in result.outputs[0] and "morado" in result.outputs[0]  # the text keeps no mark
    assert left[texts[0]] == {"es": ("morado",)}
    assert left[texts[1]] == {}
    assert left[texts[2]] == {"en": ("blorfy",)}  # English unknown to eng-spa, not counted as Spanish
    purple = run_checks([texts[0]], [result.outputs[0]], left_words=left[texts[0]])
    assert purple["suggested_grade"] == "moderate"
    assert "words left in Spanish: morado" in purple["grade_reasons"]
    red = run_checks([texts[1]], [result.outputs[1]], left_words=left[texts[1]])
    assert red["suggested_grade"] == "high" and red["left_words"] == {}
