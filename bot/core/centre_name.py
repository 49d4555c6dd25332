"""The centre's name in the forms texts need: 'le CPAS' -> 'du CPAS', 'au CPAS'. Pure.

In `centre.yml` an admin writes the name of each language as a plain text, and the forms
are derived from its article, or as a section whose forms win over the derived ones:

    name:
      fr: {plain: "le CPAS de Saint-Gilles", de: "du CPAS de Saint-Gilles", a: "au CPAS de Saint-Gilles"}

Texts use {centre} (plain), {centre_de} ("du CPAS", "van het OCMW", "of the centre") and
{centre_a} ("au CPAS": French only, as Dutch and English choose their word by the sentence);
{Centre}, {Centre_de}, {Centre_a} give the same with a capital first letter, to start a
sentence. `slips` finds what reads wrong once a text has the name in it: "de le CPAS".
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

FORMS = ("plain", "de", "a")
PLACEHOLDER = {"plain": "centre", "de": "centre_de", "a": "centre_a"}
_FORM_OF = {name: form for form, name in PLACEHOLDER.items()}
PLACEHOLDERS = frozenset(PLACEHOLDER.values()) | {name.capitalize() for name in PLACEHOLDER.values()}

_FR_ARTICLE = re.compile(r"(le|la|les)\s+(\S.*)", re.IGNORECASE | re.DOTALL)
_FR_ELIDED = re.compile(r"l(['’])(\S.*)", re.IGNORECASE | re.DOTALL)
_FR_VOWEL = re.compile(r"[aeiouyàâäéèêëîïôöùûü]", re.IGNORECASE)  # not h: 'de Hautrage', 'd'Henri' vary
_FR_CONTRACTED = {"le": ("du", "au"), "la": ("de la", "à la"), "les": ("des", "aux")}
_LINK = {"nl": "van", "en": "of"}  # 'de' in Dutch and English: no contraction


def derive(plain: str, lang: str) -> dict[str, str]:
    """The forms of a plain name: fr 'le X' -> du X / au X, 'la X' -> de la X / à la X, ..."""
    plain = plain.strip()
    if lang in _LINK:
        return {"plain": plain, "de": f"{_LINK[lang]} {plain}"}
    if lang != "fr":
        return {"plain": plain}
    article = _FR_ARTICLE.fullmatch(plain)
    if article:
        de, a = _FR_CONTRACTED[article[1].lower()]
        return {"plain": plain, "de": f"{de} {article[2]}", "a": f"{a} {article[2]}"}
    elided = _FR_ELIDED.fullmatch(plain)
    if elided:
        rest = f"l{elided[1]}{elided[2]}"
        return {"plain": plain, "de": f"de {rest}", "a": f"à {rest}"}
    de = f"d'{plain}" if _FR_VOWEL.match(plain) else f"de {plain}"
    return {"plain": plain, "de": de, "a": f"à {plain}"}


def forms(raw: str | Mapping[str, str], lang: str) -> dict[str, str]:
    """The forms of one language's name as written: a plain text, or {plain, de, a} overriding."""
    if isinstance(raw, str):
        return derive(raw, lang)
    found = derive(str(raw.get("plain") or ""), lang)
    found.update({form: str(raw[form]).strip() for form in FORMS if raw.get(form)})
    return found


def value(key: str, centre: Mapping[str, str]) -> str | None:
    """What placeholder key ({centre_de}, {Centre}, ...) becomes; None when key is not one."""
    form = _FORM_OF.get(key.lower())
    if form is None:
        return None
    text = centre.get(form) or centre.get("plain", "")  # a missing form: the checker says so
    return text[:1].upper() + text[1:] if key[:1].isupper() else text


@dataclass(frozen=True)
class Slip:
    """Something that reads wrong in one text once the centre's name is in it."""

    level: str  # "error" or "warning"
    message: str


# Words before a placeholder and the first word of the name's form, per language.
_ARTICLES = {"fr": {"le", "la", "les", "l'", "un", "une"}, "nl": {"de", "het", "een"},
             "en": {"the", "a", "an"}}
_PREPOSITIONS = {"fr": {"de", "d'", "du", "des", "à", "a", "au", "aux", "pour", "chez", "par", "avec", "vers"},
                 "nl": {"van", "bij", "naar", "aan", "voor", "met", "uit", "door", "tot", "om", "op", "in"},
                 "en": {"of", "at", "to", "from", "for", "with", "by", "on", "in"}}
_FR_NEEDS = {"de": "de", "d'": "de", "du": "de", "des": "de", "à": "a", "a": "a", "au": "a", "aux": "a"}
_SENTENCE_START = re.compile(r"(^|[.!?]\s+|\n\s*)$")
_LAST_WORD = re.compile(r"(\w+['’]?)\s*$")
_FIRST_WORD = re.compile(r"(\w+['’]?)")
# Literal text: 'de le CPAS' (not 'de le renouveler', where 'le' stands for a thing named before).
_FR_LITERAL = re.compile(r"(?<![\w'’-])(de|à|a)\s+(les?)\s+([^\s{}.,;:!?()]+)", re.IGNORECASE)
_FR_FIXED = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux",
             ("a", "le"): "au", ("a", "les"): "aux"}
_FR_PRONOUN_NEXT = re.compile(r"(lui|leur|y|en|.*(er|ir|re|oir))", re.IGNORECASE)  # an infinitive or a pronoun
_FR_NOUNS_LIKE_VERBS = {"centre", "dossier", "papier", "quartier", "loyer", "foyer", "courrier", "premier",
                        "dernier", "numéro", "métier", "chantier", "atelier", "formulaire", "salaire"}
_DOUBLED = {"nl": re.compile(r"\b([Dd]e|[Hh]et)\s+(de|het)\b"), "en": re.compile(r"\b([Tt]he\s+the|[Oo]f\s+of)\b")}


def slips(text: str, lang: str, centre: Mapping[str, str]) -> list[Slip]:
    """What reads wrong in text (in lang) with the centre's forms filled in, and which placeholder fits."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return []  # an unclosed brace: the placeholder check reports it
    found: list[Slip] = []
    before = ""
    for literal, name, _, _ in parts:
        before += literal
        if name is None:
            continue
        shown = value(name, centre)
        if shown is None:
            before += "{" + name + "}"
            continue
        found += _around(before, name, shown, lang, centre)
        before += shown
    return found + _literal(text, lang)


def _around(before: str, name: str, shown: str, lang: str, centre: Mapping[str, str]) -> list[Slip]:
    """Slips where the placeholder meets the text before it."""
    form = _FORM_OF[name.lower()]
    if form not in centre:
        return [Slip("error", f"uses {{{name}}}, which has no form in {lang}: {_no_form_hint(lang, form)}")]
    if _SENTENCE_START.search(before) and shown[:1].islower():
        return [Slip("warning", f"starts a sentence with {{{name}}}, which reads '{_cut(shown)}' in small "
                     f"letters: write {{{name.capitalize()}}} for '{_cut(shown[:1].upper() + shown[1:])}'")]
    last, first = _LAST_WORD.search(before), _FIRST_WORD.match(shown)
    if not last or not first:
        return []
    tail = before[last.start():]
    word, head = _apostrophe(last[1].lower()), _apostrophe(first[1].lower())
    reads = f"has '{tail}{{{name}}}' (it reads '{tail}{_cut(shown)}')"
    elision = word == "de" and form == "plain" and bool(_FR_VOWEL.match(head))  # 'de Emmaüs'
    if lang == "fr" and word in _FR_NEEDS and (head in {"le", "les"} | _PREPOSITIONS["fr"] or elision):
        better = _FR_NEEDS[word]
        if form == better:
            return [Slip("error", f"{reads}: {{{name}}} brings its own '{head}', so remove '{last[1]}' "
                                  "before it")]
        return [Slip("error", f"{reads}, which is not French: write {{{PLACEHOLDER[better]}}} "
                              f"('{_cut(centre[better])}') instead of '{tail}{{{name}}}'")]
    if lang == "fr" and word in {"du", "des", "au", "aux"} and head in _ARTICLES["fr"]:
        better = _FR_NEEDS[word]
        return [Slip("error", f"{reads}, two articles in a row: write {{{PLACEHOLDER[better]}}} "
                              f"('{_cut(centre[better])}') instead of '{tail}{{{name}}}'")]
    if word in _PREPOSITIONS.get(lang, set()) and (form != "plain" or head in _PREPOSITIONS.get(lang, set())):
        return [Slip("error", f"{reads}: {{{name}}} brings its own '{head}'; write '{tail}{{centre}}', "
                              f"or {{{name}}} without '{last[1]}' before it")]
    if word in _ARTICLES.get(lang, set()) and head in _ARTICLES.get(lang, set()):
        return [Slip("error", f"{reads}, two articles in a row: remove '{last[1]}' before {{{name}}}")]
    return []


def _literal(text: str, lang: str) -> list[Slip]:
    """Slips written in the text itself: 'de le CPAS'; a placeholder is left as it is."""
    if lang != "fr":
        doubled = _DOUBLED.get(lang)
        match = doubled.search(text) if doubled else None
        return [Slip("error", f"has '{match[0]}', the same little word twice: remove one")] if match else []
    found = []
    for match in _FR_LITERAL.finditer(text):
        prep, article, following = match[1], match[2], match[3]
        fixed = _FR_FIXED[(prep.lower(), article.lower())]
        fixed = fixed.capitalize() if prep[:1].isupper() else fixed
        better = f"'{fixed} {following}'"
        placeholder = "{centre_de}" if prep.lower() == "de" else "{centre_a}"
        if following[:1].isupper() and prep.lower() == "a":  # may be the verb: 'il a le RIS'
            found.append(Slip("warning", f"has '{match[0]}': if 'a' means 'à' here, write {better} (for "
                                         f"the centre's name, {placeholder})"))
        elif following[:1].isupper():
            found.append(Slip("error", f"has '{match[0]}', which is not French: write {better} (for the "
                                       f"centre's name, {placeholder})"))
        elif prep.lower() != "a" and (following.lower() in _FR_NOUNS_LIKE_VERBS
                                      or not _FR_PRONOUN_NEXT.fullmatch(following)):
            found.append(Slip("warning", f"has '{match[0]}': before a thing, French writes {better}; if "
                                         f"'{article}' stands for something named before ('de le remplir'), "
                                         "leave it"))
    return found


def _no_form_hint(lang: str, form: str) -> str:
    if lang == "nl":
        return "write 'naar {centre}', 'bij {centre}' or 'aan {centre}' as the sentence needs"
    if lang == "en":
        return "write 'to {centre}' or 'at {centre}' as the sentence needs"
    return f"give the name in {lang} a '{form}:' form in centre.yml"


def _apostrophe(word: str) -> str:
    return word.replace("’", "'")


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."
