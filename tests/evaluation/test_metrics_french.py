"""French-aware variants: they read French answers, and English ones as the reference does."""

from __future__ import annotations

import pytest

from evaluation.metrics import french, parsers, pope, scienceqa, textvqa

# --- POPE -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "parsed"),
    [
        ("Non.", "no"),  # the English parser says yes
        ("Non", "no"),
        ("non, il n'y a pas de chien.", "no"),
        ("Oui.", "yes"),
        ("Oui, il y a un chien.", "yes"),
        ("Oui, mais il n'y a pas de chat.", "yes"),  # a first yes/no word decides
        ("Il n'y a pas de chien.", "no"),  # ne ... pas
        ("Il n\u2019y a pas de chien.", "no"),  # typographic apostrophe
        ("Il y a pas de chien.", "no"),  # spoken French drops the "ne"
        ("Je ne vois aucun chien.", "no"),
        ("Il n'y a aucune voiture", "no"),
        ("Je ne vois rien de tel.", "no"),
        ("Il y a un chien. Pas de chat.", "yes"),  # first sentence only
        ("Il y a un chien sur l'image.", "yes"),  # no negation: yes, like LLaVA
        ("Yes, there is a dog.", "yes"),  # English still works
        ("No.", "no"),
        ("The dog is not visible.", "no"),
        ("NON", "no"),  # case-insensitive
    ],
)
def test_french_pope_parser(answer: str, parsed: str) -> None:
    assert french.parse_pope_french(answer) == parsed


def test_explicit_pope_answer_is_none_without_a_yes_or_no_word() -> None:
    assert french.explicit_pope_answer("Il y a un chien.") is None
    assert french.explicit_pope_answer("") is None
    assert french.explicit_pope_answer("Oui") == "yes"


def test_french_answers_change_the_pope_score_only_under_the_french_parser() -> None:
    answers = ["Oui.", "Non.", "Non.", "Oui."]
    labels = ["yes", "no", "no", "yes"]
    assert parsers.pope_scores(answers, labels, "reference")["accuracy"] == 0.5
    assert parsers.pope_scores(answers, labels, "reference")["yes_ratio"] == 1.0
    assert parsers.pope_scores(answers, labels, "french")["accuracy"] == 1.0
    assert parsers.pope_scores(answers, labels, "french")["yes_ratio"] == 0.5


# --- ScienceQA --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "letter"),
    [
        ("La réponse est B.", "B"),
        ("La reponse est B", "B"),  # no accent, no period
        ("La bonne réponse est : C", "C"),
        ("La réponse correcte est D.", "D"),
        ("Réponse : B", "B"),
        ("Réponse\u00a0: B", "B"),  # French non-breaking space before the colon
        ("réponse: (A)", "A"),
        ("Je pense que la réponse est C, car...", "C"),
        # the reference rules come first
        ("B", "B"),
        ("B. collant", "B"),
        ("The answer is B.", "B"),
    ],
)
def test_french_scienceqa_parser_reads(prediction: str, letter: str) -> None:
    assert french.parse_scienceqa_french(prediction) == letter


@pytest.mark.parametrize(
    "prediction",
    [
        "La réponse est b.",  # letters are capitals, as in LLaVA's pattern
        "La réponse est Bleu.",  # unlike LLaVA's "The answer is Bob."
        "Réponse : A. Non, réponse : B.",  # two French matches: failed, as in LLaVA
        "Je ne sais pas.",
    ],
)
def test_french_scienceqa_parser_fails(prediction: str) -> None:
    assert french.parse_scienceqa_french(prediction) is None


def test_french_scienceqa_is_scored_through_llavas_get_pred_idx() -> None:
    assert parsers.scienceqa_scores(["La réponse est B."], [1], [2], "french") == [1.0]
    assert parsers.scienceqa_scores(["La réponse est C."], [1], [2], "french") == [0.0]
    assert parsers.scienceqa_scores(["La réponse est B."], [1], [2], "reference") == [0.0]


# --- TextVQA ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("zéro", "0"),
        ("deux", "2"),
        ("Dix-sept", "17"),
        ("vingt", "20"),
        ("vingt-deux", "22"),
        ("vingt et un", "21"),
        ("soixante-dix", "70"),
        ("quatre-vingts", "80"),
        ("quatre-vingt-dix-neuf", "99"),
        ("deux-cents", "200"),
        ("mille", "1000"),
        ("aucun", "0"),
        ("un", "1"),  # alone, "un" is the number ...
        ("un chat", "chat"),  # ... before a noun, the article
        ("le chat", "chat"),
        ("la gare", "gare"),
        ("les pommes", "pommes"),
        ("l'école", "ecole"),  # elision dropped, accents folded
        ("L\u2019École", "ecole"),
        ("d'eau", "eau"),
        ("de la bière", "biere"),
        ("de l'eau", "eau"),
        ("du pain", "pain"),
        ("des pommes", "pommes"),
        ("Crème brûlée", "creme brulee"),
        ("cœur", "coeur"),
        ("2 000", "2000"),  # French digit grouping
        ("2\u202f000", "2000"),
        ("cest", "c'est"),
        ("aujourdhui", "aujourd'hui"),
        ("peut-être", "peut etre"),  # not a number: reference punctuation rules
    ],
)
def test_french_normalisation(raw: str, normalised: str) -> None:
    assert french.normalize_answer_french(raw) == normalised


def test_french_number_handles_the_vigesimal_forms() -> None:
    assert french.french_number("soixante-treize") == 73
    assert french.french_number("quatre-vingt-un") == 81
    assert french.french_number("trois-cent-quarante-deux") == 342
    assert french.french_number("mille-deux-cents") == 1200
    assert french.french_number("peut-etre") is None


@pytest.mark.parametrize(
    "raw",
    ["2,000", "ten", "a", "It's", "dont", "The Stop sign.", "3.14", "hello-world", "U.S.A."],
)
def test_french_normalisation_keeps_the_reference_rules_for_english(raw: str) -> None:
    assert french.normalize_answer_french(raw) == textvqa.normalize_answer(raw)


def test_french_vqa_accuracy_credits_french_surface_forms() -> None:
    gold = ["2"] * 10
    assert parsers.textvqa_scores(["deux"], [gold], "reference") == [0.0]
    assert parsers.textvqa_scores(["deux"], [gold], "french") == [1.0]
    gold = ["école"] * 10
    assert parsers.textvqa_scores(["L'ecole"], [gold], "french") == [1.0]


# --- superset -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", ["Yes", "No.", "Yes, there is a dog.", "There is no dog.", "The dog is not here."]
)
def test_french_pope_parser_agrees_with_llava_on_plain_english(answer: str) -> None:
    assert french.parse_pope_french(answer) == pope.parse_llava(answer)


@pytest.mark.parametrize("prediction", ["A", "B. x", "The answer is C.", "C.", "nothing"])
def test_french_scienceqa_parser_agrees_with_llava_on_english(prediction: str) -> None:
    assert french.parse_scienceqa_french(prediction) == scienceqa.parse_llava(prediction)
