"""Automatic quality checks: each signal on hand-made cases, and the grade they suggest."""

from __future__ import annotations

from translation.checks import (
    detect_language,
    length_ratio,
    numbers,
    roundtrip_chrf,
    run_checks,
    structure_problems,
    suggest_grade,
    untranslated_share,
)

SOURCE = ["<image>\nHow many red squares are next to the big circle?", "There are 3 red squares."]
GOOD = ["<image>\nCombien de carrés rouges y a-t-il à côté du grand cercle ?", "Il y a 3 carrés rouges."]


def test_intact_structure_has_no_problems() -> None:
    assert structure_problems(SOURCE[0], GOOD[0]) == []
    assert structure_problems("Yes.", "Oui.") == []


def test_lost_image_token_lines_letters_numbers_and_yes_no_are_named() -> None:
    assert structure_problems("<image>\nWhat is it?", "Qu'est-ce que c'est ?") == [
        "<image> count 1 -> 0",
        "line count 2 -> 1",
    ]
    assert structure_problems("Pick one\nA. red\nB. blue", "Choisissez\nUn. rouge\nB. bleu") == [
        "option letters ['A', 'B'] -> ['B']"
    ]
    assert structure_problems("There are 12 stars.", "Il y a douze étoiles.") == ["numbers missing: ['12']"]
    assert structure_problems("Yes", "Non") == ["yes/no answer 'Yes' -> 'Non'"]


def test_decimal_commas_and_thousand_spaces_count_as_the_same_number() -> None:
    assert numbers("3.5 kg and 1,000 cats") == numbers("3,5 kg et 1 000 chats")
    assert structure_problems("It weighs 3.5 kg.", "Il pèse 3,5 kg.") == []
    # A line break ends a number: options "3" and "100" are two numbers, not 3,100.
    assert numbers("How many?\n3\n100") == numbers("Combien ?\n100\n3") != numbers("3 100")
    assert structure_problems("Count:\n3\n100 cubes", "3 100\nCompte :\ncubes") == ["numbers missing: ['100', '3']"]


def test_language_is_detected_with_a_confidence_and_short_texts_are_not_judged() -> None:
    language, confidence = detect_language(GOOD[0])
    assert language == "fr" and confidence > 0.9
    assert detect_language(SOURCE[0])[0] == "en"
    assert detect_language("Il y a el gato rojo en la mesa grande.")[0] == "es"
    assert detect_language("Rouge.") == (None, 0.0)


def test_length_ratio_is_target_over_source_for_texts_long_enough() -> None:
    assert length_ratio("What colour is the circle?", "De quelle couleur est le cercle ?") == 33 / 26
    assert length_ratio("<image>\nRed.", "Rouge.") is None


def test_untranslated_share_counts_copied_words_but_not_names_numbers_or_shared_words() -> None:
    assert untranslated_share(SOURCE[0], GOOD[0]) == 0.0
    assert untranslated_share(SOURCE[0], SOURCE[0]) == 1.0
    half = untranslated_share(
        "The purple hexagon touches the orange triangle.", "Le purple hexagon touche le triangle orange."
    )
    assert half == 0.4  # purple, hexagon of purple/hexagon/touches/orange->shared(ignored)/triangle/the x2
    # "Paris", "STOP" and "image" are kept by a good translation.
    assert (
        untranslated_share(
            "The sign in Paris says STOP on the image.", "Le panneau à Paris dit STOP sur l'image."
        )
        == 0.0
    )
    assert untranslated_share("Red.", "Red.") is None


def test_untranslated_share_of_turns_counts_a_word_copied_into_its_own_turn_only() -> None:
    source = ["Which shape is purple?", "The purple shape is a hexagon."]
    # The second turn left "purple" and "hexagon" in English; the first translated "purple".
    copied = ["Quelle forme est violette ?", "La forme purple est un hexagon."]
    assert untranslated_share(source, copied) == 2 / 7  # which, shape, purple; the, purple, shape, hexagon
    # A word found only in another turn's translation is not a copy of this turn's word.
    elsewhere = ["Quelle forme est violette ? (hexagon)", "La forme violette est un hexagone."]
    assert untranslated_share(source, elsewhere) == 0.0


def test_round_trip_chrf_rewards_a_faithful_back_translation() -> None:
    assert roundtrip_chrf(SOURCE[0], SOURCE[0]) == 100.0
    faithful = roundtrip_chrf(SOURCE[0], "<image>\nHow many red squares are beside the large circle?")
    unrelated = roundtrip_chrf(SOURCE[0], "The weather was nice yesterday in the park.")
    assert faithful > 55 > unrelated


def test_run_checks_reports_every_signal_for_an_item() -> None:
    report = run_checks(
        [{"from": "human", "value": SOURCE[0]}, {"from": "gpt", "value": SOURCE[1]}],
        [{"from": "human", "value": GOOD[0]}, {"from": "gpt", "value": GOOD[1]}],
        back_translation=[
            "<image>\nHow many red squares are beside the big circle?",
            "There are 3 red squares.",
        ],
    )
    assert report["structure_ok"] and report["structure_problems"] == []
    assert report["language"] == "fr" and report["language_confidence"] > 0.9
    assert 1.0 < report["length_ratio"] < 1.4
    assert report["untranslated_share"] == 0.0
    assert report["roundtrip_chrf"] > 80
    assert report["suggested_grade"] == "high" and report["grade_reasons"] == []


def test_suggested_grade_orders_good_doubtful_and_broken_translations() -> None:
    grades = {"high": 2, "moderate": 1, "low": 0}
    good = run_checks(SOURCE, GOOD)
    half_done = run_checks(
        SOURCE, ["<image>\nCombien de red squares sont next to le grand cercle ?", "Il y a 3 carrés rouges."]
    )
    broken = run_checks(SOURCE, ["Combien de carrés rouges ?", "Il y a des carrés rouges."])
    untranslated = run_checks(SOURCE, SOURCE)
    assert good["suggested_grade"] == "high"
    assert half_done["suggested_grade"] == "moderate"
    assert broken["suggested_grade"] == "low" and "structure broken" in broken["grade_reasons"][0]
    assert untranslated["suggested_grade"] == "low"
    assert (
        grades[good["suggested_grade"]]
        > grades[half_done["suggested_grade"]]
        > grades[broken["suggested_grade"]]
    )


def test_each_signal_alone_can_lower_the_grade() -> None:
    base = {
        "structure_ok": True,
        "structure_problems": [],
        "language": "fr",
        "language_confidence": 0.99,
        "length_ratio": 1.2,
        "untranslated_share": 0.0,
        "roundtrip_chrf": 70.0,
    }
    assert suggest_grade(base) == ("high", [])
    assert suggest_grade({**base, "length_ratio": 2.0})[0] == "moderate"
    assert suggest_grade({**base, "length_ratio": 0.3})[0] == "low"
    assert suggest_grade({**base, "roundtrip_chrf": 45.0})[0] == "moderate"
    assert suggest_grade({**base, "roundtrip_chrf": 20.0})[0] == "low"
    assert suggest_grade({**base, "language": "es", "language_confidence": 0.6})[0] == "moderate"
    assert suggest_grade({**base, "language": "en", "language_confidence": 0.99})[0] == "low"
    assert suggest_grade({**base, "untranslated_share": 0.3})[0] == "moderate"


def test_inline_option_letters_are_checked_too() -> None:
    source = "Options: (A) a cat (B) a snake"
    assert structure_problems(source, "Options : (A) un chat (B) un serpent") == []
    assert structure_problems(source, "Options : (A) un chat (b) un serpent") == [
        "option letters ['A', 'B'] -> ['A']"
    ]


def test_the_fast_language_classifier_gives_langid_s_own_answers() -> None:
    from translation.checks import _classifier, _identifier

    texts = [
        GOOD[0], SOURCE[0], GOOD[1] + " " + SOURCE[1],
        "Il y a el gato rojo en la mesa grande.",
        "Der große Kreis ist rot und das kleine Quadrat ist blau.",
        "Il cerchio grande è rosso e il quadrato piccolo è blu.",
        "O círculo grande é vermelho e o quadrado pequeno é azul.",
        "De grote cirkel is rood en het kleine vierkant is blauw.",
        "El cercle gran és vermell i el quadrat petit és blau.",
        "Combien de red squares sont next to le grand cercle ? 3, 4 ou 12 000 ?",
        "Qu'est-ce qui est écrit sur le panneau « STOP » ? Réponse : « ARRÊT ».\nA. oui\nB. non",
        "a", "le", "oui", "",  # shorter than the automaton's 4-byte window
        "Un octet nul\x00au milieu, des émojis 🟥🔵 et du grec : κύκλος.",
        # Summed line by line: breaks at the start and end, in a row, between short lines.
        "\nQuelle est la couleur du cube ?\nRéponse : rouge.\n",
        "Question :\n\nA\nB.\nle cercle\n\n\nest rouge\nou bleu ?",
        "a\nb\nc\nd\ne", "\n", "\n\n\n", "é\nà\nκ\n🟥\nLe carré est rouge.",
    ]  # fmt: skip
    for text in texts:
        language, confidence = _classifier().classify(text)
        expected_language, expected_confidence = _identifier().classify(text)
        assert language == expected_language, text
        assert abs(confidence - expected_confidence) < 1e-9, text


def test_an_item_s_language_summed_turn_by_turn_is_its_whole_text_s() -> None:
    from translation.checks import _detect_turns

    items = [
        GOOD, SOURCE, ["<image>\nQuelle couleur ?", "A. rouge\nB. bleu", "A"],
        ["  ", "\n", "<image>", " Le grand cercle est rouge.", "", "Oui.", " \n "],
        ["a", "b", "c", "Il y a trois cubes rouges sur la table."], ["é", "🟥", "κύκλος rouge et bleu"],
        ["<image>", "   "], ["court"], ["Une phrase assez longue.\n", "\nUne autre."],
    ]  # fmt: skip
    for turns in items:
        language, confidence = _detect_turns(turns)
        expected_language, expected_confidence = detect_language("\n".join(turns))
        assert language == expected_language, turns
        assert abs(confidence - expected_confidence) < 1e-9, turns


def test_repeated_items_get_the_same_report_and_their_own_lists() -> None:
    first = run_checks(SOURCE, ["Combien de carrés rouges ?", "Il y a des carrés rouges."])
    first["structure_problems"].append("changed by the caller")
    second = run_checks(SOURCE, ["Combien de carrés rouges ?", "Il y a des carrés rouges."])
    assert second["structure_problems"] == first["structure_problems"][:-1] != []
    assert second["suggested_grade"] == first["suggested_grade"] == "low"
