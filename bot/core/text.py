"""Reading what people type: normalising, number words, day references. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from contextlib import suppress
from datetime import date, datetime, timedelta

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")

NUMBER_WORDS = {
    # fr
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    # nl
    "nul": 0, "een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
    "zeven": 7, "acht": 8, "negen": 9, "tien": 10,
    # en
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}

# The one weekday table: the days, Monday first (Python's weekday numbers), in each language.
WEEKDAY_NAMES = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
}
# Day names and the abbreviations people type, mapped to Python's weekday numbers.
WEEKDAY_WORDS = {
    **{name: day for names in WEEKDAY_NAMES.values() for day, name in enumerate(names)},
    "lun": 0, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6,
    "ma": 0, "di": 1, "wo": 2, "do": 3, "vr": 4, "za": 5, "zo": 6,
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}
# Short forms that are also common words ("ma" soeur, "do" you) only count next to a
# question about opening ("ouvert", "open").
_AMBIGUOUS_DAYS = {"ma", "di", "wo", "do", "vr", "za", "zo", "mon", "sun", "sat", "mer",
                   "jeu", "lun", "ven", "sam", "dim", "tue", "wed", "thu", "fri"}
_OPEN_WORDS = {"ouvert", "ouverts", "ouvre", "ouvrez", "open", "opened", "ferme", "closed",
               "gesloten", "dicht", "horaire", "horaires", "uren", "hours"}
# Parts of a day written onto a Dutch day name: "donderdagmiddag", "maandagochtend".
_DAY_PARTS = {"middag", "namiddag", "voormiddag", "ochtend", "avond", "morgen", "nacht"}
RELATIVE_DAYS = {
    "aujourdhui": 0, "auj": 0, "ajd": 0, "aujourd": 0, "ojd": 0, "today": 0,
    "tonight": 0, "vandaag": 0, "vanavond": 0, "demain": 1, "dmain": 1, "2main": 1,
    "tomorrow": 1, "tmrw": 1, "morgen": 1, "apresdemain": 2, "overmorgen": 2,
}
_MOMENT = re.compile(r"([a-z.]+)\s*(?:a\s+)?(\d{1,2})\s*(?:[:h]\s*(\d{2})?)?")
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")


def clean(text: str) -> str:
    """Drop control and bidi-override characters; keep line breaks."""
    return _CONTROL.sub("", text).replace("\r\n", "\n").strip()


def strip_accents(text: str) -> str:
    """'Réouverture' -> 'Reouverture': the one accent stripper."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: the form keywords match."""
    text = strip_accents(clean(text)).lower().replace("'", "").replace("’", "")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def without_greeting(text: str, greetings: frozenset[str], keep: int = 3) -> str:
    """The text after a leading "bonjour madame," when at least keep words follow, else the text.

    A greeting in front of a question ("bonjour je veux minscrire") pulls a classifier towards
    `greet`; what follows it is what the person asks.
    """
    words = text.split()
    start = 0
    while start < len(words) and (not normalize(words[start]) or normalize(words[start]) in greetings):
        start += 1
    return " ".join(words[start:]) if start and len(words) - start >= keep else text


def tokens(text: str) -> list[str]:
    """The words of a normalised text."""
    return normalize(text).split()


def as_number(text: str) -> int | None:
    """'2', ' 2. ', 'deux', 'twee' -> 2; None when the message is not just a number."""
    norm = normalize(text)
    if norm.isdigit() and len(norm) <= 2:
        return int(norm)
    return NUMBER_WORDS.get(norm)


def day_reference(text: str, today: date) -> date | None:
    """The day a message asks about ('samedi', 'demain', '25/12'), or None."""
    words = tokens(text.replace("'", " "))
    joined = "".join(words)
    for word in words:
        if word in RELATIVE_DAYS:
            return today + timedelta(days=RELATIVE_DAYS[word])
    if "apresdemain" in joined:
        return today + timedelta(days=2)
    match = _DATE.search(text)
    if match:  # an explicit date says more than a day name next to it
        explicit = _explicit_date(match, today)
        if explicit:
            return explicit
    asks_opening = any(w in _OPEN_WORDS for w in words)
    for word in words:
        weekday = _weekday(word)
        if weekday is not None and (word not in _AMBIGUOUS_DAYS or asks_opening):
            return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _weekday(word: str) -> int | None:
    """The weekday a word names: 'jeudi', 'thu', or a Dutch day with its part ('donderdagmiddag')."""
    if word in WEEKDAY_WORDS:
        return WEEKDAY_WORDS[word]
    for name, weekday in WEEKDAY_WORDS.items():
        if len(name) > 4 and word.startswith(name) and word[len(name):] in _DAY_PARTS:
            return weekday
    return None


def _explicit_date(match: re.Match[str], today: date) -> date | None:
    day, month, year = int(match[1]), int(match[2]), match[3]
    try:
        if year:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            return date(full_year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def parse_moment(text: str, now: datetime) -> datetime:
    """A local moment from '2026-11-28T23:10', 'Saturday 23:10', 'samedi 23h10' or 'demain 9h'.

    A weekday means the next such day from today (today included); now gives the timezone.
    Raise ValueError with a message for the admin (in French) when the text is not understood.
    """
    raw = text.strip()
    with suppress(ValueError):
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment.astimezone(now.tzinfo)
    match = _MOMENT.fullmatch(strip_accents(raw.lower()).replace("'", "").replace("’", ""))
    if not match:
        raise ValueError(f"« {raw} » n'est pas une date : écrivez par exemple « samedi 23:10 » "
                         "ou « 2026-11-28 23:10 ».")
    word, hour, minute = match.group(1).rstrip("."), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"« {raw} » : l'heure doit être entre 00:00 et 23:59.")
    if word in RELATIVE_DAYS:
        day = now.date() + timedelta(days=RELATIVE_DAYS[word])
    else:
        weekday = _weekday_prefix(word)
        if weekday is None:
            raise ValueError(f"« {match.group(1)} » n'est pas un jour : écrivez lundi, mardi... ou Monday, "
                             "Tuesday... ou maandag, dinsdag...")
        day = now.date() + timedelta(days=(weekday - now.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=now.tzinfo)


def _weekday_prefix(word: str) -> int | None:
    """The one weekday whose name (in any language) starts with word, of 3 letters or more."""
    found = {day for names in WEEKDAY_NAMES.values() for day, name in enumerate(names)
             if len(word) >= 3 and name.startswith(word)}
    return found.pop() if len(found) == 1 else None
