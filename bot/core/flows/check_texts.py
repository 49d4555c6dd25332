"""Check 3, and the centre's own facts.

Every text exists in every language the centre enables (fr, nl, en); every `{placeholder}`
is known and every brace is closed; every text the code needs (`human_choice`,
`flow_changed`, the opening-hours words, `claimed`, ...) exists; with the centre's name
filled in, nothing reads wrong (bot.core.centre_name.slips): "de {centre}" giving "de le
CPAS" is an error naming {centre_de}, so are "à {centre}", "de {centre_de}", "van
{centre_de}", "the {centre}", a form the language lacks, and "de le CPAS" written out; a
sentence starting with the name in small letters is a warning ({Centre}). centre.yml: an
unknown timezone, country or default language, a closure that ends before it starts.
"""

from __future__ import annotations

import difflib
import string
from datetime import date

from bot.core import centre_name
from bot.core.flowmodel import PLACEHOLDERS
from bot.core.flows.build import saved_names
from bot.core.flows.fields import BUILDING_BLOCKS
from bot.core.flows.paths import closure_paths, did_you_mean, forms, get, line_of, name_of, text_paths
from bot.core.flows.report import Check
from bot.core.lang import LANGUAGES

REQUIRED_TEXTS = {  # text -> (the file it belongs in, what the bot needs it for)
    "human_choice": ("menu.yml", "the last line of every numbered menu"),
    "flow_changed": ("menu.yml", "telling a person the menu changed"),
    "eta_open": ("menu.yml", "{human_eta}"), "eta_oncall": ("menu.yml", "{human_eta}"),
    "eta_next": ("menu.yml", "{human_eta}"),
    **{key: ("centre.yml", "the opening-hours answer") for key in (
        "hours_open_now", "hours_closed_now", "hours_next", "hours_no_next", "hours_day_open",
        "hours_day_closed", "hours_week", "slot", "and", "at_time", "today", "tomorrow", "holiday",
        "closure", "open_now_short")},
    "claimed": ("inbox.yml", "telling a person a social worker took their conversation"),
    "handed_back": ("inbox.yml", "telling a person the robot answers again"),
}


def check_centre(check: Check) -> None:
    """centre.yml: its sections, default language, timezone, country and closures; sets the languages."""
    doc = check.docs.get("centre.yml")
    if doc is None or not isinstance(doc.get("centre"), dict):
        check.error("centre.yml", None, "centre.yml with its 'centre:' section is missing: it "
                                       "holds the centre's name, languages and hours")
        return
    if not isinstance(doc.get("hours"), dict):
        check.error("centre.yml", doc.line, "centre.yml needs an 'hours:' section (the weekly "
                                           "opening hours)")
    centre = doc["centre"]
    check.languages = tuple(centre.get("languages") or LANGUAGES)
    names = centre.get("name")
    names = dict.fromkeys(check.languages, names) if isinstance(names, str) else names or {}
    check.centre_forms = {lang: centre_name.forms(names[lang], lang) for lang in check.languages
                         if isinstance(names.get(lang), str | dict) and names[lang]}
    default = centre.get("default_language", check.languages[0])
    if default not in check.languages:
        check.error("centre.yml", line_of(doc, ["centre", "default_language"]),
                   f"default_language is '{default}', which is not one of the centre's "
                   f"languages ({', '.join(check.languages)})")
    zone = str(centre.get("timezone", "Europe/Brussels"))
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(zone)
    except (KeyError, ValueError):
        from zoneinfo import available_timezones

        check.error("centre.yml", line_of(doc, ["centre", "timezone"]), f"the timezone '{zone}' is "
                   f"not known{did_you_mean(zone, available_timezones()) or ' (like Europe/Brussels)'}")
    country = str(centre.get("country", "BE")).upper()
    try:
        import holidays

        holidays.country_holidays(country, subdiv=centre.get("subdivision"))
    except NotImplementedError:
        check.error("centre.yml", line_of(doc, ["centre", "country"]),
                   f"the country '{country}' (with its subdivision) has no known public holidays; "
                   "use BE or FR")
    for entry_path in closure_paths(doc):
        closure = get(doc, entry_path)
        start, end = closure.get("from"), closure.get("to", closure.get("from"))
        if isinstance(start, date) and isinstance(end, date) and end < start:
            check.error("centre.yml", line_of(doc, entry_path), f"{name_of(entry_path)} ends "
                       f"({end}) before it starts ({start})")


def check_texts(check: Check) -> None:
    """Every text in every language, its placeholders and grammar, and the texts the code needs."""
    saved = saved_names(check.docs)
    allowed = PLACEHOLDERS | BUILDING_BLOCKS | saved
    for file, doc in check.docs.items():
        for path in text_paths(doc):
            node = get(doc, path)
            variants = node if isinstance(node, dict) else dict.fromkeys(check.languages, node)
            missing = [lang for lang in check.languages if not str(variants.get(lang) or "").strip()]
            if missing:
                check.error(file, line_of(doc, path), f"{name_of(path)} has no text in "
                                                   f"{', '.join(missing)}")
            for lang in check.languages:
                if lang in variants and variants[lang] is not None:
                    for where, line, text in forms(doc, path, lang, isinstance(node, dict)):
                        _placeholders(check, file, line, where, text, allowed)
                        _grammar(check, file, line, where, text, lang)
    present = {key for doc in check.docs.values() for key in (doc.get("texts") or {})}
    for key, (file, purpose) in REQUIRED_TEXTS.items():
        if key not in present:
            check.error(file, None, f"the text '{key}' is missing; the bot needs it for {purpose}")


def _grammar(check: Check, file: str, line: int | None, where: str, text: str, lang: str) -> None:
    """'de {centre}' that reads 'de le CPAS', written 'de le CPAS': say which form to use."""
    forms = check.centre_forms.get(lang)
    for slip in centre_name.slips(text, lang, forms) if forms else ():
        (check.error if slip.level == "error" else check.warning)(file, line, f"{where} {slip.message}")


def _placeholders(check: Check, file: str, line: int | None, where: str, text: str, allowed: set[str]) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError:
        check.error(file, line, f"{where} has a '{{' or '}}' without its partner; placeholders are "
                               "written like {centre}")
        return
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            check.error(file, line, f"{where} uses an unknown placeholder {{{name}}}{hint}")
