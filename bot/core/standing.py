"""Opt-out and opt-in: a person's standing changes only on their explicit word. Pure.

DESIGN.md, contract 10: STOP and START act only when they are the whole message (any case,
accents, spaces and punctuation around, a "svp" or "please" allowed), or when Twilio's
own opt-out handling says so in `OptOutType`. Never from the NLU, never from a sentence
that merely contains the word: "stop je comprends rien" and "contactez moi" keep the
person subscribed. The words are fixed here, not in the flows, because carriers and the
law require them and an edit must not be able to remove one.
"""

from __future__ import annotations

from bot.core.text import normalize

OPT_OUT_WORDS = frozenset({
    "stop", "stopall", "arret", "stoppen", "unsubscribe", "desinscrire", "desinscription",
    "uitschrijven",
})
OPT_IN_WORDS = frozenset({"start", "unstop"})
# Words a person adds around the keyword without changing it: "STOP svp", "stop please".
POLITE_WORDS = frozenset({
    "svp", "stp", "please", "pls", "plz", "aub", "alstublieft", "alsjeblieft", "merci",
    "thanks", "thx", "bedankt",
})
# What answers "do you want our messages again?" with a yes.
YES_WORDS = frozenset({"oui", "ouais", "ui", "wi", "ja", "jaa", "yes", "yep", "yeah", "ok", "oke", "okay"})
# Words that, inside a longer message, make it worth asking whether the person wants out.
HINT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "desinscrire", "uitschrijven"})

OPT_OUT, OPT_IN = "opt_out", "opt_in"
TWILIO_TYPES = {"STOP": OPT_OUT, "START": OPT_IN}


def _words(text: str) -> list[str]:
    return [w for w in normalize(text).split() if w not in POLITE_WORDS]


def keyword(text: str) -> str | None:
    """OPT_OUT or OPT_IN when the whole message is such a keyword ("Stop !", "START svp"), else None."""
    words = set(_words(text))
    if len(words) != 1:
        return None
    word = words.pop()
    if word in OPT_OUT_WORDS:
        return OPT_OUT
    return OPT_IN if word in OPT_IN_WORDS else None


def from_twilio(opt_out_type: str) -> str | None:
    """What Twilio's inbound `OptOutType` parameter says (STOP, START; HELP changes nothing)."""
    return TWILIO_TYPES.get(opt_out_type.strip().upper())


def is_yes(text: str) -> bool:
    """True when the whole message is a yes ("oui", "Ja !", "yes please")."""
    words = _words(text)
    return bool(words) and all(w in YES_WORDS for w in words)


def hints_opt_out(text: str) -> bool:
    """True when a longer message holds an opt-out word: the person is asked, never unsubscribed."""
    words = normalize(text).split()
    return keyword(text) is None and any(w in HINT_WORDS for w in words)
