"""The centre's name in the forms texts need (bot.core.centre_name) and the real flows read with it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core import answers, engine
from bot.core.centre_name import derive, forms, slips, value
from bot.core.flows import Flows, load_flows
from tests.conftest import FIXED_FLOWS

FLOWS_DIR = FIXED_FLOWS
SATURDAY_NIGHT = datetime(2026, 11, 28, 22, 10, tzinfo=UTC)


# --- deriving the forms from the article ------------------------------------------------------


@pytest.mark.parametrize(("plain", "de", "a"), [
    ("le CPAS de Saint-Gilles", "du CPAS de Saint-Gilles", "au CPAS de Saint-Gilles"),
    ("Le Phare", "du Phare", "au Phare"),
    ("la Maison de quartier Lazare Garreau", "de la Maison de quartier Lazare Garreau",
     "à la Maison de quartier Lazare Garreau"),
    ("l'Espace Rencontre", "de l'Espace Rencontre", "à l'Espace Rencontre"),
    ("l’Espace Rencontre", "de l’Espace Rencontre", "à l’Espace Rencontre"),
    ("les Restos du Coeur", "des Restos du Coeur", "aux Restos du Coeur"),
    ("Saint-Gilles Solidarité", "de Saint-Gilles Solidarité", "à Saint-Gilles Solidarité"),
    ("Emmaüs Lille", "d'Emmaüs Lille", "à Emmaüs Lille"),
    ("lecentre", "de lecentre", "à lecentre"),  # 'le' only as a word of its own
])
def test_french_forms_come_from_the_article(plain: str, de: str, a: str) -> None:
    assert derive(plain, "fr") == {"plain": plain, "de": de, "a": a}


def test_dutch_and_english_add_their_word_and_have_no_derived_a_form() -> None:
    assert derive("het OCMW van Sint-Gillis", "nl") == {"plain": "het OCMW van Sint-Gillis",
                                                        "de": "van het OCMW van Sint-Gillis"}
    assert derive("the Saint-Gilles social centre", "en") == {"plain": "the Saint-Gilles social centre",
                                                              "de": "of the Saint-Gilles social centre"}


def test_written_forms_override_the_derived_ones() -> None:
    written = forms({"plain": "le Relais social", "a": "chez le Relais social"}, "fr")

    assert written == {"plain": "le Relais social", "de": "du Relais social", "a": "chez le Relais social"}
    assert forms({"plain": "het OCMW", "a": "bij het OCMW"}, "nl")["a"] == "bij het OCMW"


def test_a_capital_placeholder_starts_the_name_with_a_capital() -> None:
    centre = derive("le CPAS de Saint-Gilles", "fr")

    assert value("centre", centre) == "le CPAS de Saint-Gilles"
    assert value("Centre", centre) == "Le CPAS de Saint-Gilles"
    assert value("Centre_a", centre) == "Au CPAS de Saint-Gilles"
    assert value("hours", centre) is None


# --- what reads wrong ------------------------------------------------------------------------


def messages(text: str, lang: str = "fr", name: str = "le CPAS de Saint-Gilles") -> list[tuple[str, str]]:
    return [(s.level, s.message) for s in slips(text, lang, derive(name, lang))]


def test_de_before_a_name_with_le_is_an_error_naming_the_placeholder() -> None:
    assert messages("Je suis le robot SMS de {centre}.") == [(
        "error", "has 'de {centre}' (it reads 'de le CPAS de Saint-Gilles'), which is not French: write "
                 "{centre_de} ('du CPAS de Saint-Gilles') instead of 'de {centre}'")]


@pytest.mark.parametrize(("text", "name", "placeholder"), [
    ("Venez à {centre}.", "le CPAS de Saint-Gilles", "{centre_a}"),
    ("Venez a {centre}.", "le CPAS de Saint-Gilles", "{centre_a}"),
    ("Venez À {centre}.", "le CPAS de Saint-Gilles", "{centre_a}"),
    ("Le robot de {centre}.", "les Restos du Coeur", "{centre_de}"),
    ("Le robot du {centre}.", "la Maison de quartier", "{centre_de}"),
    ("Le robot de {centre}.", "Emmaüs Lille", "{centre_de}"),  # d'Emmaüs
])
def test_a_preposition_that_needs_a_form_is_an_error(text: str, name: str, placeholder: str) -> None:
    found = messages(text, name=name)

    assert len(found) == 1 and found[0][0] == "error" and f"write {placeholder}" in found[0][1]


@pytest.mark.parametrize(("text", "name"), [
    ("Le robot de {centre}.", "la Maison de quartier"),
    ("Le robot de {centre}.", "l'Espace Rencontre"),
    ("Le robot {centre_de}. Venez {centre_a}.", "le CPAS de Saint-Gilles"),
    ("Ici : {centre}, service social.", "le CPAS de Saint-Gilles"),
    ("{Centre} vous répond.", "le CPAS de Saint-Gilles"),
    ("Demandez à la commune de le renouveler. Merci de les apporter.", "le CPAS"),
])
def test_texts_that_read_right_have_no_slip(text: str, name: str) -> None:
    assert messages(text, name=name) == []


def test_a_form_after_its_own_preposition_is_an_error() -> None:
    assert "remove 'de' before it" in messages("Le robot de {centre_de}.")[0][1]
    assert "without 'van' before it" in messages("De robot van {centre_de}.", "nl", "het OCMW")[0][1]
    assert "without 'of' before it" in messages("The robot of {centre_de}.", "en", "the centre")[0][1]


def test_two_articles_in_dutch_and_english_are_errors() -> None:
    assert "two articles" in messages("De robot van de {centre}.", "nl", "het OCMW")[0][1]
    assert "two articles" in messages("The robot of the {centre}.", "en", "the centre")[0][1]
    assert messages("Het is de robot van het OCMW. Kom naar {centre}.", "nl", "het OCMW") == []


def test_a_form_dutch_lacks_is_an_error_with_the_words_to_write() -> None:
    found = messages("Kom {centre_a}.", "nl", "het OCMW")

    assert found == [("error", "uses {centre_a}, which has no form in nl: write 'naar {centre}', "
                               "'bij {centre}' or 'aan {centre}' as the sentence needs")]


def test_a_sentence_that_starts_with_the_name_in_small_letters_is_a_warning() -> None:
    assert messages("Bonjour. {centre} vous répond.") == [(
        "warning", "starts a sentence with {centre}, which reads 'le CPAS de Saint-Gilles' in small letters: "
                   "write {Centre} for 'Le CPAS de Saint-Gilles'")]


def test_literal_de_le_before_a_name_is_an_error_and_before_a_verb_is_not() -> None:
    assert messages("Le robot SMS de le CPAS.") == [(
        "error", "has 'de le CPAS', which is not French: write 'du CPAS' (for the centre's name, {centre_de})")]
    assert messages("Allez à les Restos.")[0] == (
        "error", "has 'à les Restos', which is not French: write 'aux Restos' (for the centre's name, {centre_a})")
    assert messages("Il faut de le renouveler, à le remplir, de les apporter.") == []
    assert [level for level, _ in messages("La copie de le dossier.")] == ["warning"]
    assert messages("Il a le droit.") == []  # 'a' is the verb here


# --- the real flows, rendered ------------------------------------------------------------------


NAMES = {  # other centres' names: the texts must read right with each
    "Saint-Gilles (as shipped)": None,
    "Lille, le": {"fr": "le centre social Lazare Garreau", "nl": "het buurthuis Lazare Garreau",
                  "en": "the Lazare Garreau social centre"},
    "la": {"fr": "la Maison de quartier Moulins", "nl": "het buurthuis Moulins", "en": "Moulins community house"},
    "l'": {"fr": "l'Espace Rencontre", "nl": "Espace Rencontre", "en": "the Espace Rencontre"},
    "les": {"fr": "les Restos du Coeur", "nl": "de Restos du Coeur", "en": "the Restos du Coeur"},
    "no article": {"fr": "Emmaüs Lille", "nl": "Emmaüs Lille", "en": "Emmaüs Lille"},
}


def wrong(lang: str, plain: str) -> re.Pattern[str]:
    """What must never be before the name in a reply: 'de le CPAS', 'à les Restos', 'van van het OCMW'."""
    article = re.match(r"(le |les |la |l'|de |het |the )?(.*)", plain, re.IGNORECASE | re.DOTALL)
    assert article is not None
    body = re.escape(article[2])
    patterns = {
        "fr": rf"\b(de|du|des|à|a|au|aux) (le |les |du |des |au |aux |de |d'|à )(la |l')?{body}"
              + (rf"|\bde {body}" if not article[1] and re.match("[aeiouyéè]", plain, re.IGNORECASE) else ""),
        "nl": rf"\bvan van (de |het )?{body}|\b(de|het|een) (de|het) {body}",
        "en": rf"\bof of (the )?{body}|\bthe the {body}",
    }
    return re.compile(patterns[lang], re.IGNORECASE)


@pytest.fixture(scope="module")
def real_flows() -> Flows:
    return load_flows(FLOWS_DIR)


def with_name(flows: Flows, names: dict[str, str] | None) -> Flows:
    if names is None:
        return flows
    return replace(flows, name=names, centre_forms={lang: derive(n, lang) for lang, n in names.items()})


def rendered(flows: Flows, lang: str) -> dict[str, str]:
    """Every step and shared text of flows as said in lang."""
    ctx = answers.Context(flows, lang, SATURDAY_NIGHT, engine.Incoming(text="", reference="K7M2QX"))
    found = {f"step {name}": engine._render(step, ctx) for name, step in flows.steps.items()}
    found |= {f"text {key}": flows.text(key, lang).format_map(ctx) for key in flows.texts}
    return found


@pytest.mark.parametrize("names", NAMES.values(), ids=NAMES.keys())
def test_no_reply_of_the_real_flows_puts_de_le_or_a_le_before_the_name(real_flows: Flows,
                                                                    names: dict[str, str] | None) -> None:
    flows = with_name(real_flows, names)
    for lang in flows.languages:
        pattern = wrong(lang, flows.name[lang])
        for where, text in rendered(flows, lang).items():
            assert not pattern.search(text), f"{where} ({lang}): {text}"


def test_the_help_text_gives_the_right_form_in_every_language(real_flows: Flows) -> None:
    def help_text(flows: Flows, lang: str) -> str:
        return rendered(flows, lang)["step help"]

    assert "le robot SMS du CPAS de Saint-Gilles." in help_text(real_flows, "fr")
    assert "de sms-robot van het OCMW van Sint-Gillis." in help_text(real_flows, "nl")
    assert "the SMS robot of the Saint-Gilles social centre (CPAS)." in help_text(real_flows, "en")
    assert "robot SMS de la Maison de quartier Moulins." in help_text(with_name(real_flows, NAMES["la"]), "fr")
    assert "robot SMS de l'Espace Rencontre." in help_text(with_name(real_flows, NAMES["l'"]), "fr")
    assert "robot SMS d'Emmaüs Lille." in help_text(with_name(real_flows, NAMES["no article"]), "fr")


def test_the_loader_reads_both_shapes_and_refuses_forms_without_plain(tmp_path: Path) -> None:
    import shutil

    from bot.core.errors import FlowError

    folder = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, folder, ignore=shutil.ignore_patterns("tests"))
    centre = folder / "centre.yml"
    shipped = centre.read_text(encoding="utf-8")
    assert shipped.count("    fr: le CPAS de Saint-Gilles\n") == 1
    centre.write_text(shipped.replace("    fr: le CPAS de Saint-Gilles\n",
                                      '    fr: {plain: "le CPAS", a: "chez le CPAS"}\n'), encoding="utf-8")

    flows = load_flows(folder)

    assert flows.name["fr"] == "le CPAS" and flows.name["nl"] == "het OCMW van Sint-Gillis"
    assert flows.centre_forms["fr"] == {"plain": "le CPAS", "de": "du CPAS", "a": "chez le CPAS"}

    centre.write_text(shipped.replace("    fr: le CPAS de Saint-Gilles\n", '    fr: {de: "du CPAS"}\n'),
                      encoding="utf-8")
    with pytest.raises(FlowError, match="the centre's name \\(fr\\) has no plain form"):
        load_flows(folder)
