"""Injected errors: a seeded share of translations spoiled on purpose, recorded per row."""

from __future__ import annotations

import pytest

from catalog.services import import_dataset
from translation.checks import option_letters
from translation.engines import EngineOptionError, check_options, engine_class
from translation.injection import (
    ANSWER_CHANGED,
    MEANING_CHANGED,
    UNTRANSLATED,
    Injection,
    count_injected,
)
from translation.models import Translation
from translation.services import JobError, create_job, run_job

RATES = {ANSWER_CHANGED: 0.2, MEANING_CHANGED: 0.15, UNTRANSLATED: 0.1}
OPTIONS = {"inject_answer_changed": 0.2, "inject_meaning_changed": 0.15, "inject_untranslated": 0.1, "inject_seed": 7}


def _item(i: int) -> tuple[list[dict], list[dict]]:
    """A world-like item, English source and French translation, of one of four kinds."""
    kind = i % 4
    if kind == 0:
        pairs = [("<image>\nIs there a red circle?", "<image>\nY a-t-il un cercle rouge ?"), ("Yes", "Oui")]
    elif kind == 1:
        pairs = [(f"How many blue stars are there? ({i})", f"Combien d'étoiles bleues y a-t-il ? ({i})"), ("3", "3")]
    elif kind == 2:
        pairs = [
            ("<image>\nWhat colour is the square?\nA. red\nB. green\nC. pink", "<image>\nDe quelle couleur est le carré ?\nA. rouge\nB. vert\nC. rose"),
            ("B", "B"),
        ]
    else:
        pairs = [("<image>\nDescribe the green shape.", "<image>\nDécrivez la forme verte."), ("A big green triangle at the left.", "Un grand triangle vert à gauche.")]
    speakers = ["human", "gpt"]
    source = [{"from": speakers[j], "value": s} for j, (s, _) in enumerate(pairs)]
    target = [{"from": speakers[j], "value": t} for j, (_, t) in enumerate(pairs)]
    return source, target


def _inject(injection: Injection, n: int = 600) -> list[tuple[list[dict], list[dict], str]]:
    out = []
    for i in range(n):
        source, target = _item(i)
        turns, kind = injection.apply(f"item-{i}", source, target)
        out.append((target, turns, kind))
    return out


def test_rates_are_respected_within_tolerance() -> None:
    results = _inject(Injection(RATES, seed=1))
    kinds = [kind for _, _, kind in results]
    for kind, rate in RATES.items():
        assert abs(kinds.count(kind) / len(kinds) - rate) < 0.05, (kind, kinds.count(kind))
    # Each kind changed what it says it changed, and only that.
    for clean, turns, kind in results:
        if kind == "":
            assert turns == clean
        elif kind == ANSWER_CHANGED:
            assert turns[0] == clean[0] and turns[1] != clean[1]
        elif kind == MEANING_CHANGED:
            assert turns[0] != clean[0] and turns[1] == clean[1]
        else:
            assert turns != clean


def test_the_same_seed_injects_the_same_errors_and_another_seed_others() -> None:
    assert _inject(Injection(RATES, seed=1)) == _inject(Injection(RATES, seed=1))
    assert [k for *_, k in _inject(Injection(RATES, seed=1))] != [k for *_, k in _inject(Injection(RATES, seed=2))]


def test_structure_stays_intact_image_token_lines_and_option_letters() -> None:
    for clean, turns, kind in _inject(Injection({ANSWER_CHANGED: 0.34, MEANING_CHANGED: 0.33, UNTRANSLATED: 0.33}, 3)):
        assert kind  # every item here can carry every kind
        assert [t["from"] for t in turns] == [t["from"] for t in clean]
        for before, after in zip(clean, turns):
            assert before["value"].count("<image>") == after["value"].count("<image>")
            assert before["value"].startswith("<image>\n") == after["value"].startswith("<image>\n")
            assert before["value"].count("\n") == after["value"].count("\n")
            assert option_letters(before["value"]) == option_letters(after["value"])


def test_answer_changed_swaps_oui_non_and_option_letters_among_the_options() -> None:
    injection = Injection({ANSWER_CHANGED: 1.0}, seed=0)
    source, target = _item(0)
    assert injection.apply("k", source, target)[0][1]["value"] == "Non"
    source, target = _item(2)
    assert injection.apply("k", source, target)[0][1]["value"] in {"A", "C"}


def test_untranslated_leaves_the_question_in_english() -> None:
    source, target = _item(3)
    turns, kind = Injection({UNTRANSLATED: 1.0}, seed=0).apply("k", source, target)
    assert kind == UNTRANSLATED and turns[0]["value"] == source[0]["value"] and turns[1] == target[1]


def test_no_rate_means_no_injection() -> None:
    assert Injection.from_options({"inject_seed": 3}) is None
    assert Injection.from_options({"timeout": 5.0}) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"inject_untranslated": 1.5}, r"'inject_untranslated': 1.5 is outside 0..1"),
        ({"inject_meaning_changed": -0.1}, r"outside 0..1"),
        ({"inject_answer_changed": 0.6, "inject_meaning_changed": 0.5}, r"add up to more than 1"),
        ({"inject_seed": 1.5}, r"'inject_seed': expected integer"),
    ],
)
@pytest.mark.parametrize("engine", ["apertium", "openai", "vllm", "hf"])
def test_every_engine_accepts_the_options_and_refuses_values_out_of_range(engine, options, message) -> None:
    declared = engine_class(engine).request_options
    assert check_options(engine, declared, OPTIONS) == OPTIONS
    with pytest.raises(EngineOptionError, match=message):
        check_options(engine, declared, options)


@pytest.fixture
def instruct(small_world):
    return import_dataset(
        small_world / "llava/llava_instruct.json", format="llava", name="instruct", images=small_world / "images"
    ).dataset


@pytest.mark.django_db
def test_a_job_refuses_rates_out_of_range_naming_the_option(instruct) -> None:
    with pytest.raises(JobError, match="outside 0..1") as error:
        create_job("instruct", engine="apertium", options={"inject_answer_changed": 2})
    assert error.value.field == "options.inject_answer_changed"


@pytest.mark.django_db
def test_a_job_records_the_injected_kind_and_checks_the_injected_text(instruct) -> None:
    options = {"inject_answer_changed": 0.3, "inject_meaning_changed": 0.3, "inject_untranslated": 0.3, "inject_seed": 5}
    job = run_job(create_job("instruct", engine="apertium", limit=60, round_trip=False, options=options).pk)
    assert job.state == "done" and job.done == 60
    rows = Translation.objects.filter(item__dataset=instruct).select_related("item")
    counts = count_injected(rows)
    assert sum(counts.values()) == 60 and counts["none"] < 30
    assert all(counts[kind] > 0 for kind in (ANSWER_CHANGED, MEANING_CHANGED, UNTRANSLATED)), counts
    assert count_injected(list(rows)) == counts
    drawn = Injection.from_options(options)
    for row in rows:
        # The item's own draw, or none where nothing in the item could carry it.
        assert row.injected_error in {"", drawn.kind_for(row.item.external_id)}
        for source, target in zip(row.item.conversations, row.turns):
            assert source["value"].count("<image>") == target["value"].count("<image>")
        if row.injected_error == UNTRANSLATED:
            # Checked as stored: the English turn counts as copied words.
            assert any(s["value"] == t["value"] for s, t in zip(row.item.conversations, row.turns))
            assert row.checks["untranslated_share"] > 0


@pytest.mark.django_db
def test_the_translation_pages_show_the_injected_kind(client, instruct) -> None:
    from django.core.management import call_command

    options = {"inject_meaning_changed": 1.0, "inject_seed": 1}
    run_job(create_job("instruct", engine="apertium", limit=5, round_trip=False, options=options).pk)
    call_command("createuser", "admin", role="admin", password="correct-horse-42", verbosity=0)
    client.login(username="admin", password="correct-horse-42")
    listing = client.get("/translation/translations/").content.decode()
    assert listing.count("injected: meaning changed") == Translation.objects.filter(injected_error=MEANING_CHANGED).count() > 0
    row = Translation.objects.filter(injected_error=MEANING_CHANGED).first()
    assert "injected: meaning changed" in client.get(f"/translation/translations/{row.pk}/").content.decode()
    clean = Translation.objects.filter(injected_error="").first()
    if clean:
        assert "injected:" not in client.get(f"/translation/translations/{clean.pk}/").content.decode()
