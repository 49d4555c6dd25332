"""Guessing whether a message is French, Dutch or English. Pure functions.

Short SMS defeat statistical detectors, so this counts the little words people
actually type, SMS spellings included. It answers None rather than guess.
"""

from __future__ import annotations

from bot.core.text import tokens

LANGUAGES = ("fr", "nl", "en")

_WORDS = {
    "fr": """bonjour bjr slt salut bonsoir je j jai jsuis jsui jveux jvoudrais veux voudrais
        vous vos votre nous est c ces cest koi quoi quand ou comment pourquoi pk pq
        avec pour pas ne le la les un une des du de au aux et mais merci mrc svp stp
        sil plait oui non ouvert ouverts ferme horaires horaire heure heures aide
        parler quelqu quelquun qqn demain aujourdhui samedi dimanche lundi mardi
        mercredi jeudi vendredi madame monsieur mon ma mes moi suis ai besoin
        rdv dossier papiers aidez atelier inscrire urgent tres bien ca sa cpas""",
    "nl": """hallo hoi dag goedemorgen goedendag ik wil graag kan kunnen jullie u uw
        je jij mijn niet geen met voor van het een de en is zijn wanneer waar hoe
        waarom wat open gesloten openingsuren uren morgen vandaag zaterdag zondag
        maandag dinsdag woensdag donderdag vrijdag spreken iemand hulp help helpen
        dank bedankt alstublieft aub ja nee nodig afspraak papieren ocmw inschrijven
        workshop niet heb ben hebben moet mag even""",
    "en": """hello hi hey good morning evening i im i'm want would like can could you your
        my me not no with for of the a an and is are when where how why what open
        closed hours tomorrow today saturday sunday monday tuesday wednesday thursday
        friday speak talk someone somebody help need please pls thanks thank yes
        appointment papers sign up workshop have am do does""",
}
_LEXICON = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}


def detect(text: str) -> tuple[str | None, int]:
    """The most likely language and how many of its words were seen; (None, 0) if unsure."""
    words = tokens(text)
    scores = {lang: sum(w in _LEXICON[lang] for w in words) for lang in LANGUAGES}
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:
        return None, 0
    return best, ranked[0] - ranked[1]
