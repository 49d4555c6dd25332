"""GSM-7 conversion and SMS segment counting (bot.core.sms): pure, no I/O."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.sms import is_gsm7, prepare, segment_info, to_gsm7

FRENCH_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ"
FRENCH_PUNCTUATION = " .,;:!?'’‘\"«»“”…–—-()/\n\u00a0\u202f0123456789%€"


# --- GSM-7 detection ---------------------------------------------------------------------


def test_it_sees_plain_french_with_gsm7_accents_as_gsm7() -> None:
    assert is_gsm7("Bonjour, ici le CPAS. Déjà fermé à 12h, très bien ! Où ? Ça va.")


def test_it_sees_a_curly_apostrophe_as_outside_gsm7() -> None:
    assert not is_gsm7("l’équipe")


def test_it_sees_an_emoji_as_outside_gsm7() -> None:
    assert not is_gsm7("Merci 🙂")


def test_it_counts_extension_characters_as_gsm7() -> None:
    assert is_gsm7("prix: 5€ [voir] {ok} ~ | ^ \\")


# --- conversion --------------------------------------------------------------------------


def test_it_turns_a_curly_apostrophe_into_a_straight_one() -> None:
    assert to_gsm7("aujourd’hui") == "aujourd'hui"


def test_it_turns_french_quotes_into_straight_double_quotes() -> None:
    assert to_gsm7("«Bonjour»") == '"Bonjour"'


def test_it_drops_the_spaces_french_quotes_put_inside() -> None:
    assert to_gsm7("il a dit « oui » hier") == 'il a dit "oui" hier'


def test_it_spells_an_ellipsis_as_three_dots() -> None:
    assert to_gsm7("Attendez…") == "Attendez..."


def test_it_turns_an_en_dash_into_a_hyphen() -> None:
    assert to_gsm7("9h–12h") == "9h-12h"


def test_it_spells_oe_ligature_as_two_letters() -> None:
    assert to_gsm7("sœur, Œuvre") == "soeur, OEuvre"


def test_it_drops_the_accents_gsm7_lacks() -> None:
    assert to_gsm7("ç ê â î ô û ë ï") == "c e a i o u e i"


def test_it_keeps_the_accented_letters_gsm7_has() -> None:
    assert to_gsm7("é è à ù É Ç") == "é è à ù É Ç"


def test_a_typical_french_reply_becomes_gsm7_without_losing_its_gsm7_accents() -> None:
    converted = to_gsm7("Vous êtes à l’accueil « CPAS » – déjà noté…")

    assert is_gsm7(converted)
    assert converted.startswith("Vous etes à l'accueil")
    assert converted.endswith('"CPAS" - déjà noté...')


def test_it_keeps_an_emoji_and_the_message_goes_out_as_ucs2() -> None:
    converted = to_gsm7("Merci ’ 🙏")

    assert "🙏" in converted
    assert "'" in converted
    assert segment_info(converted).encoding == "UCS-2"


@given(st.text(alphabet=FRENCH_LETTERS + FRENCH_PUNCTUATION, max_size=300))
def test_any_french_text_becomes_gsm7(text: str) -> None:
    assert is_gsm7(to_gsm7(text))


# --- segments ----------------------------------------------------------------------------


def test_160_gsm7_characters_fit_one_segment() -> None:
    info = segment_info("a" * 160)

    assert (info.encoding, info.segments, info.units) == ("GSM-7", 1, 160)


def test_161_gsm7_characters_take_two_segments() -> None:
    assert segment_info("a" * 161).segments == 2


def test_a_long_gsm7_text_is_billed_153_characters_a_segment() -> None:
    assert segment_info("a" * 306).segments == 2
    assert segment_info("a" * 307).segments == 3


def test_70_ucs2_characters_fit_one_segment() -> None:
    info = segment_info("ê" * 70)

    assert (info.encoding, info.segments, info.units) == ("UCS-2", 1, 70)


def test_71_ucs2_characters_take_two_segments() -> None:
    assert segment_info("ê" * 71).segments == 2


def test_a_long_ucs2_text_is_billed_67_characters_a_segment() -> None:
    assert segment_info("ê" * 134).segments == 2
    assert segment_info("ê" * 135).segments == 3


def test_one_emoji_switches_an_otherwise_gsm7_text_to_ucs2() -> None:
    info = segment_info("a" * 69 + "🙂")

    assert info.encoding == "UCS-2"
    assert info.units == 71  # the emoji takes two UTF-16 code units
    assert info.segments == 2


def test_the_euro_sign_counts_as_two_characters() -> None:
    assert segment_info("€" * 80).units == 160
    assert segment_info("€" * 80).segments == 1
    assert segment_info("€" * 80 + "a").segments == 2


def test_a_square_bracket_counts_as_two_characters() -> None:
    info = segment_info("a" * 159 + "[")

    assert info.encoding == "GSM-7"
    assert info.units == 161
    assert info.segments == 2


# --- per channel -------------------------------------------------------------------------


def test_it_converts_a_reply_going_out_by_sms() -> None:
    assert prepare("L’équipe «CPAS» ouvre à 9h…", "sms") == 'L\'équipe "CPAS" ouvre à 9h...'


def test_it_leaves_a_whatsapp_reply_untouched() -> None:
    text = "L’équipe «CPAS» ouvre à 9h… 🙂"

    assert prepare(text, "whatsapp") == text
