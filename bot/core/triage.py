"""Crisis triage: does a message need a person now? Pure, apart from loading the lexicon.

A message is urgent when a phrase of `flows/crisis.yml` is in it (once the everyday figures
of speech listed under `not_crisis` are set aside), or when the NLU says `urgent` with
enough confidence, the message is more than a figure of speech, and it does not speak of
a `calm` context (the past, a film, the news: where the NLU alone raises false alarms).
Messages are matched the way people text: no accents, SMS spellings ("jveux", "jpeux pu",
"g"), one typo in a long word.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot.core.flows import FlowError
from bot.core.lang import LANGUAGES
from bot.core.text import NUMBER_WORDS, clean, normalize

# Measured on tests/data/crisis_heldout.yml and fresh probes with the trained model (see
# tests/test_triage.py): DIET's confidences are nearly always 1.0 or below 0.6, and false
# alarms do not fall anywhere from 0.4 to 0.95, so the low end keeps the most crises.
URGENT_MIN_CONFIDENCE = 0.6
URGENT_INTENT = "urgent"

# Endings a lexicon word may take in a message: "frappe" also matches "frappee", "frapper".
# (s, x, r, nt, e, es, er, ee, ees, ent: written short, as it is compiled once per word.)
_ENDINGS = "(?:[sxr]|nt|e(?:[sr]|es?|nt)?)?"
_MIN_ENDING_WORD = 3
_MIN_TYPO_WORD = 7  # shorter words are too close to everyday words ("pendre" / "prendre")
_MIN_TYPO_ALONE = 10  # a typo in a phrase of one word: "epanoui" must not become "evanoui"
_CORRECTIONS_CACHE = 50_000
# French written as it sounds drops silent endings: "dehor" (dehors), "enfan" (enfant), "froi".
_SILENT_ENDINGS = ("t", "s", "d", "x", "e", "es", "ts", "ds")
_MIN_SILENT_WORD = 3
_MIN_SHORT_TYPO = 4
_MIN_CONTEXT_WORD = 8  # an exact word this long vouches for a typo in a short one

_NON_WORD = re.compile(r"[^\w\s]+")  # as bot.core.text.normalize splits words
_PLACEHOLDER = re.compile(r"<(n|\d{1,2}\+)>|(\.\.\.|…)")
_LONG_REPEATS = re.compile(r"([a-z])\1{2,}")
_DOUBLES = re.compile(r"([a-z])\1")
_GAP = r"(?:[^\s|]+ ){0,3}"
# A single letter typed for an elided word: "m a" is "m'a", "j ai" is "j'ai".
_ELIDING = frozenset("jmltsndc") | {"qu", "jusqu", "quelqu", "lorsqu", "puisqu"}
# Words that change nothing to the danger: "je me suis ENCORE coupee" = "je me suis coupee".
DROPPED_WORDS = frozenset("encore deja vraiment tellement tres really".split())

MORE_NUMBER_WORDS = {
    "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "cent": 100,
    "dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30,
    "elf": 11, "twaalf": 12, "vijftien": 15, "twintig": 20, "dertig": 30, "veertig": 40,
    "vijftig": 50, "honderd": 100, "tiental": 10,
    "six": 6, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12,
}
ALL_NUMBER_WORDS = {**NUMBER_WORDS, **MORE_NUMBER_WORDS}

# SMS spellings and contractions, rewritten the same way in messages and in the lexicon,
# so that an admin writes "je veux mourir" once and "jveux mourir" matches it too.
SMS_SPELLINGS = {
    # fr
    "g": "je ai", "jai": "je ai", "jen": "je en", "jy": "je y", "jetais": "je etais",
    "javais": "je avais", "jaurais": "je aurais", "jarrive": "je arrive", "jattends": "je attends",
    "jessaie": "je essaie", "jentends": "je entends", "jhabite": "je habite", "jecris": "je ecris",
    "javale": "je avale", "jarrete": "je arrete", "jetouffe": "je etouffe", "jappelle": "je appelle",
    "jaimerais": "je aimerais", "jirai": "je irai", "jose": "je ose",
    "ne": "", "n": "", "nai": "ai", "nen": "en", "ny": "y", "nest": "est", "narrive": "arrive",
    "narrete": "arrete", "navais": "avais", "netais": "etais", "nose": "ose", "naime": "aime",
    "jpp": "je en peux plus", "jpeux": "je peux", "jpx": "je peux", "jvx": "je veux",
    "chui": "je suis", "chuis": "je suis", "jsuis": "je suis", "jsui": "je suis", "jsu": "je suis",
    "jss": "je suis", "sui": "suis", "jveu": "je veux", "jve": "je veux", "veu": "veux",
    "vx": "veux", "jpeu": "je peux", "jpe": "je peux", "px": "peux", "jvai": "je vais",
    "c": "cest", "ct": "cetait", "ya": "il y a", "pu": "plus", "plu": "plus", "pa": "pas",
    "pr": "pour", "pk": "pourquoi", "pq": "pourquoi", "ds": "dans", "tt": "tout", "tte": "toute",
    "ts": "tous", "tjs": "toujours", "tjrs": "toujours", "tjr": "toujours", "bcp": "beaucoup",
    "mnt": "maintenant", "mtn": "maintenant", "auj": "aujourdhui", "ajd": "aujourdhui",
    "ojd": "aujourdhui", "aujourd": "aujourdhui", "2main": "demain", "dmain": "demain",
    "ki": "qui", "ke": "que", "kil": "quil", "koi": "quoi", "kan": "quand", "qd": "quand",
    "qqn": "quelquun", "qqun": "quelquun", "dla": "de la", "ns": "nous", "vs": "vous",
    "depui": "depuis", "bb": "bebe", "tro": "trop", "mm": "meme", "slt": "salut",
    # nl
    "k": "ik", "kwil": "ik wil", "kga": "ik ga", "kben": "ik ben", "kheb": "ik heb",
    "nie": "niet", "ni": "niet", "mn": "mijn", "zn": "zijn", "niks": "niets",
    # en
    "im": "i am", "ive": "i have", "dont": "do not", "cant": "can not", "cannot": "can not",
    "wont": "will not", "didnt": "did not", "havent": "have not", "hasnt": "has not",
    "isnt": "is not", "doesnt": "does not", "hes": "he is", "shes": "she is",
    "theyre": "they are", "gonna": "going to", "wanna": "want to", "u": "you", "ur": "your",
    "pls": "please", "plz": "please",
    # more of the same kinds: words cut short, written as said, digits for sounds
    "sre": "serai", "srai": "serai", "srais": "serais", "vnz": "venez", "venz": "venez",
    "avek": "avec", "avk": "avec", "fis": "fils", "r1": "rien", "ri1": "rien",
    "medikaman": "medicament", "medicaman": "medicament", "medikament": "medicament",
    "medikamen": "medicament", "medicamant": "medicament",
    "urgen": "urgent", "ugent": "urgent", "urgant": "urgent", "urjent": "urgent", "urgnt": "urgent",
    "jsp": "je sais pas", "jsais": "je sais", "iem": "iemand",
    "2nite": "tonight", "2night": "tonight", "tonite": "tonight", "rn": "right now", "r": "are",
    "thx": "thanks", "b4": "before", "dnt": "do not", "j": "je",
}
# "jveux", "jpense", "jme": a glued "je" before a consonant is never a French word.
_GLUED_JE = re.compile(r"^j([bcdfghklmnpqrstvwxz][a-z]+)$")

# Everyday words one letter away from a crisis word, never "corrected" into it (found by
# comparing the lexicon with the French, Dutch and English word lists of Debian).
EVERYDAY_WORDS = frozenset("""
    prendre prends pendant soigner signer sacrifie sacrifier cooking coking accouchement
    etrange epanoui manager bother hunting thanking tables entire dentier denier douceur
    fringue fringues fringuer mutiner meager product breading braking bearing burying
    banden opvangen blending geweten gegeven gezeten gebeten gemeten polite positie respite
    renter revele planer plaster ambulante coterie outsize overdone overdoes conjugate
    maintenait menages breaching voilure sprongen sprinten vermoeden verbonden verzonden
    verdienen streven sterken sejours touchers violente violentes enfere noting pinched violent
""".split())

# Words that do not change what a message says: a figure of speech plus only these
# ("mon portable est mort hier soir mdr") is still only a figure of speech.
FILLER_WORDS = frozenset(_DOUBLES.sub(r"\1", w) for w in """
    lol mdr ptdr haha hahaha xd svp stp please aub trop grave bon bref oh ah et mais ou
    la le les l un une ce cette ces ca sa cest de du des au aux a en est ai suis moi tout
    je tu il elle on nous vous ils mon ma mes ton ta tes son ses notre votre leur
    hier soir matin nuit aujourdhui demain maintenant
    i you he she we they am is are the a this so it its my your his her our me
    yesterday today tonight now
    ik jij hij zij wij ben is het de een dit dat echt mijn jouw zijn haar ons
    gisteren vandaag vanavond morgen nu
""".split())


@dataclass(frozen=True)
class Category:
    """One kind of crisis: its label and its phrases per language (weak: not in a calm context)."""

    name: str
    label: dict[str, str]
    phrases: dict[str, tuple[str, ...]]
    weak: dict[str, tuple[str, ...]] = field(default_factory=dict)


class _Compiled(NamedTuple):
    """One crisis phrase, compiled; a weak one does not count in a calm context."""

    category: str
    pattern: re.Pattern[str]
    weak: bool = False


class Together(NamedTuple):
    """A combination: urgent when a phrase of each part is in the message (alcohol and pills)."""

    name: str
    category: str
    label: dict[str, str]
    parts: tuple[re.Pattern[str], ...]


class Cries(NamedTuple):
    """The words of a message that is nothing but a cry for help, each group with its weight."""

    label: dict[str, str]
    groups: tuple[tuple[re.Pattern[str], int], ...]


CRY_CATEGORY = "help_now"


@dataclass(frozen=True)
class Lexicon:
    """The crisis phrases and the figures of speech that must not fire, ready to match."""

    categories: tuple[Category, ...]
    not_crisis: dict[str, tuple[str, ...]]
    calm: dict[str, tuple[str, ...]]
    phrases: tuple[_Compiled, ...]
    anchors: dict[str, tuple[int, ...]]  # a word each phrase needs -> the phrases needing it
    reach: int  # the most words a phrase can cover: where to look around its anchor
    not_crisis_pattern: re.Pattern[str] | None
    calm_pattern: re.Pattern[str] | None
    typo_targets: dict[str, tuple[str, ...]]
    crisis_words: frozenset[str]
    known_words: frozenset[str]
    file: str
    together: tuple[Together, ...] = ()
    cries: Cries | None = None
    joking: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = (None, None)  # markers, hassles
    short_typos: dict[str, str] = field(default_factory=dict)  # "bolod" -> "blood", "peit" -> "petit"
    # What each typed word became, remembered: most words come back in message after message.
    corrections: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict, compare=False,
                                                                 repr=False)

    def category(self, name: str) -> Category:
        """The category called name."""
        return next(c for c in self.categories if c.name == name)

    def label(self, name: str) -> str:
        """The French label of a category, a combination or the cries (what a social worker reads)."""
        if name == CRY_CATEGORY and self.cries is not None:
            return self.cries.label["fr"]
        return self.category(name).label["fr"]


@dataclass(frozen=True)
class Triage:
    """The verdict on one message, and why, in words a social worker reads."""

    priority: str | None
    reason: str
    category: str | None = None
    matched: tuple[str, ...] = ()


# --- matching -----------------------------------------------------------------------------


class _Word(NamedTuple):
    """A canonical word and the span of the person's own words it comes from."""

    text: str
    first: int
    last: int
    fixed: int = 0  # 0 as typed, 1 a typo fixed in a long word (or a silent ending), 2 in a short word


def assess(text: str, lexicon: Lexicon, intent: str | None = None, confidence: float = 0.0) -> Triage:
    """Urgent when a crisis phrase, a combination or a cry for help matches, or the NLU is sure.

    Weak phrases and combinations need the absence of a calm context (the past, a film, a
    joke marked lol or mdr, papers); so does the NLU's `urgent` when no phrase supports it.
    """
    typed = normalize(text).split()
    words = _canonical_words(" ".join(typed), lexicon)
    original = _as_typed(text, typed)
    canonical = " ".join(w.text for w in words)
    kept, starts = _without_figures(canonical, lexicon)
    calm = _calm(canonical, lexicon)
    if calm and _joking(canonical, lexicon):  # "lol je vais me pendre si j'ai encore un formulaire"
        kept, starts = "", [0]
    found = [hit for hit in _crisis_hits(kept, starts, lexicon, calm) if _trusted([words[i] for i in hit[3]])]
    hits = [_Found(name, lexicon.category(name).label["fr"], (_source(inside, words, original),))
            for name, inside in _merged(_outermost(found))]
    if not calm:
        said = " ".join(w for hit in hits for w in hit.words)
        hits += [hit for hit in _together_hits(kept, starts, words, original, lexicon)
                 if not all(part in said for part in hit.words)]  # nothing new: "petit" + "tout seul"
        if not hits and kept:
            hits = _cry_hits(canonical, words, original, lexicon, _shouted(text))
    figure = "|" in kept  # a figure of speech was set aside: the NLU alone may have read it literally
    nlu_urgent = (intent == URGENT_INTENT and confidence >= URGENT_MIN_CONFIDENCE
                  and not _only_figures(kept) and (bool(hits) or not (calm or figure)))
    if not hits and not nlu_urgent:
        return Triage(None, _doubt(intent, confidence, calm, figure))
    category = hits[0].category if hits else None  # the longest match is the most specific
    matched = tuple(dict.fromkeys(" + ".join(hit.words) for hit in hits))
    return Triage("urgent", _reason(hits, confidence if nlu_urgent else None), category, matched)


class _Found(NamedTuple):
    """One reason to flag: the category, its label for the social worker, the person's words."""

    category: str
    label: str
    words: tuple[str, ...]


_MAX_REASON = 255  # cases.reason
_MAX_QUOTE = 48


def _reason(hits: list[_Found], confidence: float | None) -> str:
    """Why, in words a social worker acts on: each label with the person's words, then the NLU.

    "moyens : médicaments + quantité « 20 doliprane » ; le modèle de langue le pense aussi (97 %)"
    """
    quotes: dict[str, list[str]] = {}
    for hit in hits:
        quote = " + ".join(f"« {_short(w)} »" for w in hit.words)
        if quote not in quotes.setdefault(hit.label, []):
            quotes[hit.label].append(quote)
    found = [f"{label} " + ", ".join(said) for label, said in quotes.items()]
    nlu = []
    if confidence is not None:
        percent = _percent(confidence)
        nlu = [f"le modèle de langue le pense aussi ({percent})" if hits else
               f"aucun mot de la liste, mais le modèle de langue y voit une urgence ({percent}) : lire le message"]
    for count in range(len(found), 0, -1):  # too long for cases.reason: the first (longest) hits stay
        reason = " ; ".join(found[:count] + (["…"] if count < len(found) else []) + nlu)
        if len(reason) <= _MAX_REASON:
            return reason
    return " ; ".join(found + nlu)[:_MAX_REASON]


def _doubt(intent: str | None, confidence: float, calm: bool, figure: bool) -> str:
    """When the NLU said urgent and the triage does not: why, for the person who checks."""
    if intent != URGENT_INTENT:
        return ""
    said = f"à vérifier : le modèle de langue y voit une urgence ({_percent(confidence)})"
    if confidence < URGENT_MIN_CONFIDENCE:
        return f"{said}, mais il n'en est pas sûr"
    if figure:
        return f"{said}, mais c'est une façon de parler (« ce formulaire me tue »)"
    return f"{said}, mais le message parle du passé, d'un film, de papiers, d'une date à venir ou d'une blague"


def _percent(confidence: float) -> str:
    return f"{round(confidence * 100)} %"


def _short(words: str) -> str:
    return words if len(words) <= _MAX_QUOTE else words[:_MAX_QUOTE - 1].rstrip() + "…"


def _together_hits(kept: str, starts: list[int], words: list[_Word], original: list[str],
                   lexicon: Lexicon) -> list[_Found]:
    """The combinations whose every part is in the message ("vodka" and "somniferes")."""
    found = []
    for rule in lexicon.together:
        spans = [next(_spans(pattern, kept, starts), None) for pattern in rule.parts]
        if all(spans) and _trusted([words[i] for span in spans if span for i in span]):
            parts = [_source(span, words, original) for span in spans if span]
            found.append(_Found(rule.category, rule.label["fr"], tuple(dict.fromkeys(parts))))
    return found


def _spans(pattern: re.Pattern[str], text: str, starts: list[int]) -> Iterator[list[int]]:
    """The word indices of each match of pattern in text."""
    for match in pattern.finditer(text):
        yield list(range(bisect_left(starts, match.start()), bisect_left(starts, match.end())))


def _shouted(text: str) -> bool:
    """Two words or more, all in capitals: "HELP ME" is shouted, "HELP" may be the help menu."""
    letters = [c for c in text if c.isalpha()]
    return len(text.split()) >= 2 and bool(letters) and all(c.isupper() for c in letters)


def _cry_hits(canonical: str, words: list[_Word], original: list[str], lexicon: Lexicon,
              shouted: bool = False) -> list[_Found]:
    """A message that is nothing but a cry for help ("URGENT AIDEZ MOI", "help mij nu", "SOS", "HELP ME")."""
    cries = lexicon.cries
    if cries is None or not canonical:
        return []
    starts = [0]
    for token in canonical.split(" ")[:-1]:
        starts.append(starts[-1] + len(token) + 1)
    covered: set[int] = set()
    weight = int(shouted)
    for pattern, points in cries.groups:
        for span in _spans(pattern, canonical, starts):
            if span and not covered.intersection(span):
                covered.update(span)
                weight += points
    rest = [w.text for i, w in enumerate(words) if i not in covered]
    if weight < 2 or any(w not in FILLER_WORDS for w in rest):
        return []
    return [_Found(CRY_CATEGORY, cries.label["fr"], (" ".join(original),))]


def _canonical_words(normalized: str, lexicon: Lexicon | None = None) -> list[_Word]:
    """The words of a normalised text, SMS spellings rewritten and (given a lexicon) typos fixed."""
    raw = _LONG_REPEATS.sub(r"\1\1", normalized).split()
    words: list[_Word] = []
    index = 0
    while index < len(raw):
        word, last = raw[index], index
        if _elided(raw, index):  # "m a frappe", "j ai": an apostrophe typed as a space
            word, last = word + raw[index + 1], index + 1
        words.extend(_Word(text, index, last, fixed) for text, fixed in _canonical(word, lexicon))
        index = last + 1
    return words


def _canonical(word: str, lexicon: Lexicon | None) -> tuple[tuple[str, int], ...]:
    """The canonical words one typed word stands for, each with whether a typo was fixed."""
    cache = lexicon.corrections if lexicon else {}
    if word in cache:
        return cache[word]
    parts = []
    for part in _unglued(word, lexicon) if lexicon else _unsms(word):
        if part not in DROPPED_WORDS:
            part = _DOUBLES.sub(r"\1", part)
            fixed, level = _corrected(part, lexicon) if lexicon else (part, 0)
            parts.append((fixed, level))
    if len(cache) >= _CORRECTIONS_CACHE:
        cache.clear()
    cache[word] = result = tuple(parts)
    return result


def _trusted(words: list[_Word]) -> bool:
    """A typo counts beside an exact word, or alone in a long word ("unconcious").

    A typo in a short word ("bolod") counts only beside two exact words ("lots of bolod") or a
    long one ("cise depilepsie"): "il me vole" must not become "il me viole".
    """
    exact = sum(not w.fixed for w in words)
    if any(w.fixed == 2 for w in words):
        return exact >= 2 or any(not w.fixed and len(w.text) >= _MIN_CONTEXT_WORD for w in words)
    return exact >= 1 or any(len(w.text) >= _MIN_TYPO_ALONE for w in words)


def _elided(raw: list[str], index: int) -> bool:
    if index + 1 >= len(raw) or raw[index] not in _ELIDING or raw[index + 1][0] not in "aeiouyh":
        return False
    return not (raw[index] == "m" and index > 0 and raw[index - 1] == "i")  # "i m in danger"


def _unsms(word: str) -> list[str]:
    if word in SMS_SPELLINGS:
        return SMS_SPELLINGS[word].split()
    glued = _GLUED_JE.match(word)
    if glued:
        rest = glued[1]
        return ["je", *SMS_SPELLINGS.get(rest, rest).split()]
    return [word]


_GLUED = {"j": "je", "n": "", "m": "me", "t": "te", "s": "se", "l": "le", "d": "de"}


def _unglued(word: str, lexicon: Lexicon) -> list[str]:
    """Like _unsms, and "jaimerai" is "je aimerai", "metrangle" is "me etrangle", when the rest is a crisis word."""
    rest = _DOUBLES.sub(r"\1", word[1:])
    if (word in SMS_SPELLINGS or word[0] not in _GLUED or len(rest) < 3 or word[0] + rest in lexicon.known_words
            or (word[0] not in "jn" and rest[0] not in "aeiouyh")):
        return _unsms(word)
    if (any(rest[:len(rest) - cut] in lexicon.crisis_words for cut in range(min(4, len(rest) - 2)))
            or (word[0] not in "jn" and rest in lexicon.known_words)):  # "lattestation": a calm word too
        return [_GLUED[word[0]], rest] if _GLUED[word[0]] else [rest]
    return _unsms(word)


def _corrected(word: str, lexicon: Lexicon) -> tuple[str, int]:
    """The crisis word a typed word is a typo of, and how sure: 0 as typed, 1 a long word, 2 a short one."""
    if word in lexicon.known_words or not word.isalpha():
        return word, 0
    if len(word) >= _MIN_SILENT_WORD:  # written as said: "dehor", "enfan", "pri", "froi"
        completed = next((word + end for end in _SILENT_ENDINGS if word + end in lexicon.crisis_words), None)
        if completed:
            return completed, 1
    short = lexicon.short_typos.get(word)
    if short:
        return short, 2
    if len(word) < _MIN_TYPO_WORD - 1:
        return word, 0
    targets = lexicon.typo_targets.get(word[0], ())
    found = extract(word, targets, scorer=OSA.distance, score_cutoff=1, limit=None) if targets else []
    allowed = [target for target, _, _ in found if not _same_word_other_ending(word, target)]
    # Two crisis words one slip away ("breating": "beating", "breathing"): people texting fast
    # drop letters far more often than they add one, so the longer word is the likelier.
    allowed.sort(key=lambda target: len(target) <= len(word))
    return (allowed[0], 1) if allowed else (word, 0)


def _same_word_other_ending(word: str, target: str) -> bool:
    # "suicide" is not a typo of "suicider": another form of a word can mean something else.
    return word.startswith(target) or target.startswith(word) or word[:-1] == target[:-1]


def _without_figures(text: str, lexicon: Lexicon) -> tuple[str, list[int]]:
    """The canonical text with each figure of speech replaced by '|', and where each word starts."""
    if lexicon.not_crisis_pattern is not None:
        text = lexicon.not_crisis_pattern.sub(lambda m: " ".join(["|"] * len(m[0].split())), text)
    starts, position = [], 0
    for token in text.split(" "):
        starts.append(position)
        position += len(token) + 1
    return text, starts


def _as_typed(text: str, normalized: list[str]) -> list[str]:
    """The person's words with their accents and capitals, word for word with the normalised ones."""
    kept = unicodedata.normalize("NFC", clean(text)).replace("'", "\u02bc").replace("’", "\u02bc")  # a letter: one word
    shown = [w.replace("\u02bc", "'") for w in _NON_WORD.sub(" ", kept).split()]
    return shown if len(shown) == len(normalized) else normalized


def _source(inside: list[int], words: list[_Word], original: list[str]) -> str:
    """The person's own words behind the canonical words of a match."""
    return " ".join(original[words[inside[0]].first:words[inside[-1]].last + 1])


def _calm(text: str, lexicon: Lexicon) -> bool:
    """True when the message speaks of a calm context: the past, a film, the news."""
    return lexicon.calm_pattern is not None and lexicon.calm_pattern.search(text) is not None


def _joking(text: str, lexicon: Lexicon) -> bool:
    """True when a joke marker (lol, mdr) stands beside an everyday hassle (a form, taxes, homework)."""
    markers, about = lexicon.joking
    return bool(markers and about and markers.search(text) and about.search(text))


def _only_figures(kept: str) -> bool:
    """True when figures of speech were set aside and nothing that matters is left."""
    return "|" in kept and all(w in FILLER_WORDS or w == "|" for w in kept.split())


_Hit = tuple[str, int, int, list[int]]  # category, start, end, indices of the words


def _crisis_hits(kept: str, starts: list[int], lexicon: Lexicon, calm: bool = False) -> list[_Hit]:
    """Every crisis phrase found in the text (weak ones only outside a calm context)."""
    spans: set[tuple[int, int, int]] = set()
    for index, where in _candidates(kept, lexicon).items():
        if calm and lexicon.phrases[index].weak:
            continue
        pattern = lexicon.phrases[index].pattern
        for token in where:
            low = starts[max(0, token - lexicon.reach)]
            high = starts[token + lexicon.reach] - 1 if token + lexicon.reach < len(starts) else len(kept)
            spans.update((index, *m.span()) for m in pattern.finditer(kept, low, high))
    return [(lexicon.phrases[index].category, start, end,
             list(range(bisect_left(starts, start), bisect_left(starts, end)))) for index, start, end in sorted(spans)]


def _merged(hits: list[_Hit]) -> list[tuple[str, list[int]]]:
    """Overlapping hits of one category as one ("pris 20" and "20 doliprane": "pris 20 doliprane")."""
    merged: list[tuple[str, list[int]]] = []
    for name, _, _, inside in hits:
        for number, (other, span) in enumerate(merged):
            if other == name and inside[0] <= span[-1] + 1 and span[0] <= inside[-1] + 1:
                merged[number] = (name, list(range(min(span[0], inside[0]), max(span[-1], inside[-1]) + 1)))
                break
        else:
            merged.append((name, inside))
    return merged


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """The hits not inside a longer one ("me tuer" in "va me tuer"), longest first."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h[1] - h[2], h[1])):
        if not any(k[1] <= hit[1] and hit[2] <= k[2] for k in kept):
            kept.append(hit)
    return kept


def _candidates(kept: str, lexicon: Lexicon) -> dict[int, list[int]]:
    """The phrases whose anchor word is in the text (with or without an ending), and where."""
    found: dict[int, list[int]] = {}
    for position, token in enumerate(kept.split(" ")):
        stems = [token] if len(token) <= 2 else [token[:len(token) - cut] for cut in range(min(4, len(token) - 2))]
        for stem in stems:
            for index in lexicon.anchors.get(stem, ()):
                found.setdefault(index, []).append(position)
    return found


# --- loading ------------------------------------------------------------------------------


class _Seq(list):  # type: ignore[type-arg]
    """A YAML list that remembers the line of each item."""

    lines: list[int]


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers its line and the line of each key."""

    line: int
    key_lines: dict[Any, int]


class _CrisisLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A YAML loader (libyaml's when installed: 10 times faster) that records lines."""


def _construct_map(loader: _CrisisLoader, node: yaml.MappingNode) -> _Map:
    mapping = _Map(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {loader.construct_object(k, deep=True): k.start_mark.line + 1
                         for k, _ in node.value}
    return mapping


def _construct_seq(loader: _CrisisLoader, node: yaml.SequenceNode) -> _Seq:
    items = _Seq(loader.construct_sequence(node, deep=True))
    items.lines = [item.start_mark.line + 1 for item in node.value]
    return items


_CrisisLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_CrisisLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


SECTIONS = ("crisis", "not_crisis", "calm", "joking", "together", "cries")
CRY_GROUPS = {"strong": 2, "help": 1, "urgency": 1, "filler": 0}  # a cry needs a weight of 2


def load_lexicon(path: Path) -> Lexicon:
    """Read and check the crisis lexicon; raise FlowError naming the file, line and reason."""
    return _parsed(Path(path).read_text(encoding="utf-8"), Path(path).name)


def _parsed(text: str, name: str) -> Lexicon:
    """The lexicon of a file's text (bot.core.flows.load_lexicon keeps it, keyed on the content)."""
    doc = _read(text, name)
    stray = [key for key in doc if key not in SECTIONS]
    if stray:
        raise FlowError(name, doc.key_lines[stray[0]], f"'{stray[0]}' is not a section here: "
                        f"the file has {', '.join(repr(s + ':') for s in SECTIONS)}")
    crisis = doc.get("crisis")
    if not isinstance(crisis, _Map) or not crisis:
        raise FlowError(name, doc.key_lines.get("crisis", 1), "'crisis:' must list categories "
                        "(suicide, violence, ...), each with a label and phrases")
    categories = [_category(key, raw, name, crisis.key_lines[key]) for key, raw in crisis.items()]
    not_crisis = _phrases(doc.get("not_crisis") or _Map(), name, doc.key_lines.get("not_crisis"),
                          "'not_crisis'")
    calm = _phrases(doc.get("calm") or _Map(), name, doc.key_lines.get("calm"), "'calm'")
    names = {c[0] for c in categories}
    together = [_together(key, raw, name, doc["together"].key_lines[key], names)
                for key, raw in _section(doc, "together", name).items()]
    cries = _cries(doc["cries"], name, doc.key_lines["cries"]) if "cries" in doc else None
    joking = _section(doc, "joking", name)
    jokes = [_plain_list(joking.get(key), name, joking.key_lines.get(key, joking.line), f"'joking: {key}'")
             for key in ("markers", "about")] if joking else [[], []]
    return _compile(categories, not_crisis, calm, name, together, cries, (jokes[0], jokes[1]))


def _section(doc: _Map, key: str, file: str) -> _Map:
    raw = doc.get(key)
    if raw is None:
        return _Map()
    if not isinstance(raw, _Map):
        raise FlowError(file, doc.key_lines[key], f"'{key}:' must list named entries")
    return raw


def _label(raw: _Map, file: str, line: int, what: str) -> dict[str, str]:
    label = raw.get("label")
    if not isinstance(label, _Map):
        raise FlowError(file, line, f"{what} has no 'label:' (a short name per language)")
    _check_languages(label, file, f"the label of {what}")
    missing = [lang for lang in LANGUAGES if not str(label.get(lang) or "").strip()]
    if missing:
        raise FlowError(file, label.line, f"the label of {what} has no text in {', '.join(missing)}")
    return {lang: str(label[lang]) for lang in LANGUAGES}


def _plain_list(raw: Any, file: str, line: int, what: str) -> list[str]:
    if not isinstance(raw, _Seq) or not raw:
        raise FlowError(file, line, f"{what} must be a list of phrases (one a line, starting with '- ')")
    for item, item_line in zip(raw, raw.lines, strict=True):
        _check_phrase(item, file, item_line)
    return [str(item) for item in raw]


def _together(key: Any, raw: Any, file: str, line: int, categories: set[str]) -> tuple[Any, ...]:
    what = f"combination '{key}'"
    if not isinstance(raw, _Map):
        raise FlowError(file, line, f"{what} needs 'category:', 'label:' and 'all:' under it")
    if raw.get("category") not in categories:
        raise FlowError(file, raw.key_lines.get("category", line), f"{what} needs 'category:', one of "
                        f"{', '.join(sorted(categories))}")
    label = _label(raw, file, line, what)
    parts = raw.get("all")
    if not isinstance(parts, _Seq) or len(parts) < 2:
        raise FlowError(file, raw.key_lines.get("all", line), f"{what} needs 'all:' with two lists or more "
                        "(a phrase of each must be in the message)")
    lists = [_plain_list(part, file, part_line, f"each part of {what}")
             for part, part_line in zip(parts, parts.lines, strict=True)]
    return str(key), str(raw["category"]), label, lists


def _cries(raw: Any, file: str, line: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    if not isinstance(raw, _Map):
        raise FlowError(file, line, f"'cries:' needs 'label:' and {', '.join(CRY_GROUPS)}")
    stray = [key for key in raw if key != "label" and key not in CRY_GROUPS]
    if stray:
        raise FlowError(file, raw.key_lines[stray[0]], f"'{stray[0]}' is not a group of cries "
                        f"({', '.join(CRY_GROUPS)})")
    label = _label(raw, file, line, "'cries'")
    groups = {group: _plain_list(raw.get(group), file, raw.key_lines.get(group, line), f"'cries: {group}'")
              for group in CRY_GROUPS if group in raw}
    return label, groups


def _read(text: str, name: str) -> _Map:
    loader = _CrisisLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FlowError(name, mark.line + 1 if mark else None,
                        f"this is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()
    if not isinstance(doc, _Map):
        raise FlowError(name, 1, "the file must start with 'crisis:'")
    return doc


def _category(key: Any, raw: Any, file: str, line: int) -> tuple[Any, ...]:
    if not isinstance(raw, _Map):
        raise FlowError(file, line, f"category '{key}' needs 'label:' and 'phrases:' under it")
    label = _label(raw, file, line, f"'{key}'")
    if "phrases" not in raw:
        raise FlowError(file, line, f"category '{key}' has no phrases")
    phrases = _phrases(raw["phrases"], file, raw.key_lines["phrases"], f"category '{key}'")
    if not any(phrases.values()):
        raise FlowError(file, raw.key_lines["phrases"], f"category '{key}' has no phrases")
    weak = _phrases(raw["weak"], file, raw.key_lines["weak"], f"category '{key}'") if "weak" in raw else {}
    stray = [k for k in raw if k not in ("label", "phrases", "weak")]
    if stray:
        raise FlowError(file, raw.key_lines[stray[0]], f"category '{key}' has '{stray[0]}': "
                        "only 'label:', 'phrases:' and 'weak:' go there")
    return str(key), label, phrases, weak


def _phrases(raw: Any, file: str, line: int | None, what: str) -> dict[str, _Seq]:
    if not isinstance(raw, _Map):
        raise FlowError(file, line, f"the phrases of {what} must be listed per language (fr, nl, en)")
    _check_languages(raw, file, f"the phrases of {what}")
    found: dict[str, _Seq] = {}
    for lang, items in raw.items():
        if items is None:
            continue
        if not isinstance(items, _Seq):
            raise FlowError(file, raw.key_lines[lang], f"the {lang} phrases of {what} must be a list "
                            "(one phrase a line, starting with '- ')")
        for item, item_line in zip(items, items.lines, strict=True):
            _check_phrase(item, file, item_line)
        found[lang] = items
    return found


def _check_languages(raw: _Map, file: str, what: str) -> None:
    for lang in raw:
        if lang not in LANGUAGES:
            raise FlowError(file, raw.key_lines[lang], f"{what} has '{lang}', which is not a language "
                            f"({', '.join(LANGUAGES)})")


def _check_phrase(item: Any, file: str, line: int) -> None:
    if isinstance(item, dict | list):
        raise FlowError(file, line, "a phrase containing ': ' must be put in quotes")
    text = "" if item is None else str(item)
    words = [w for w in _PLACEHOLDER.sub(" ", text).split() if normalize(w)]
    if not text.strip():
        raise FlowError(file, line, "a phrase is empty (a phrase cannot start with #, which starts "
                        "a comment in YAML)")
    unknown = re.findall(r"<[^>]*>", _PLACEHOLDER.sub(" ", text))
    if unknown:
        raise FlowError(file, line, f"'{unknown[0]}' is not a wildcard: use <n> (any number), "
                        "<5+> (5 or more) or ... (up to 3 words)")
    if not words:
        raise FlowError(file, line, f"the phrase '{text}' has no word, only wildcards")
    if text.strip().startswith(("...", "…")) or text.strip().endswith(("...", "…")):
        raise FlowError(file, line, f"the phrase '{text}' starts or ends with '...': "
                        "'...' only goes between two words")


# --- compiling ----------------------------------------------------------------------------


def _compile(categories: list[tuple[Any, ...]], not_crisis: dict[str, _Seq], calm: dict[str, _Seq],
             file: str, together: list[tuple[Any, ...]] | None = None,
             cries: tuple[dict[str, str], dict[str, list[str]]] | None = None,
             joking: tuple[list[str], list[str]] = ([], [])) -> Lexicon:
    figures = [p for items in not_crisis.values() for p in items]
    contexts = [p for items in calm.values() for p in items] + joking[0]  # a joke marker is a calm context
    compiled = {(name, tuple(_phrase_words(p)), is_weak)
                for name, _, phrases, weak in categories
                for is_weak, by_lang in ((False, phrases), (True, weak)) for items in by_lang.values() for p in items}
    ordered = sorted(compiled)
    rules = [(key, category, label, [[tuple(_phrase_words(p)) for p in part] for part in parts])
             for key, category, label, parts in together or []]
    combined = {w for *_, parts in rules for part in parts for words in part for w in words}
    crisis_words = {w for _, words, _ in ordered for w in words if not w.startswith("<")} | {
        w for w in combined if not w.startswith("<")}
    cry_words = {w for items in (cries[1].values() if cries else ()) for p in items for w in _phrase_words(p)}
    figure_words = {w for p in figures + contexts + joking[1] for w in _phrase_words(p) if not w.startswith("<")}
    targets: dict[str, list[str]] = {}
    for word in sorted(crisis_words | figure_words):  # "documentiare" is a documentary: calm
        if len(word) >= _MIN_TYPO_WORD and word.isalpha():
            targets.setdefault(word[0], []).append(word)
    everyday = {*EVERYDAY_WORDS, *ALL_NUMBER_WORDS, *" ".join(SMS_SPELLINGS.values()).split()}
    known = crisis_words | figure_words | cry_words | {_DOUBLES.sub(r"\1", w) for w in everyday}
    return Lexicon(
        categories=tuple(Category(name, label, _texts(phrases), _texts(weak))
                         for name, label, phrases, weak in categories),
        not_crisis=_texts(not_crisis),
        calm=_texts(calm),
        phrases=tuple(_Compiled(name, _alternation([words]), is_weak) for name, words, is_weak in ordered),
        anchors=_anchors([words for _, words, _ in ordered]),
        reach=max(_reach(words) for _, words, _ in ordered),
        not_crisis_pattern=_alternation([tuple(_phrase_words(p)) for p in figures]) if figures else None,
        calm_pattern=_alternation([tuple(_phrase_words(p)) for p in contexts]) if contexts else None,
        typo_targets={letter: tuple(words) for letter, words in targets.items()},
        crisis_words=frozenset(crisis_words),
        known_words=frozenset(known),
        file=file,
        short_typos=_short_typos(crisis_words, known),
        joking=(_alternation([tuple(_phrase_words(p)) for p in joking[0]]) if joking[0] else None,
                _alternation([tuple(_phrase_words(p)) for p in joking[1]]) if joking[1] else None),
        together=tuple(Together(key, category, label, tuple(_alternation(part) for part in parts))
                       for key, category, label, parts in rules),
        cries=Cries(cries[0], tuple((_alternation([tuple(_phrase_words(p)) for p in cries[1][group]]), points)
                                    for group, points in CRY_GROUPS.items() if group in cries[1]))
        if cries else None,
    )


def _short_typos(crisis_words: set[str], known: set[str]) -> dict[str, str]:
    """Two letters swapped, one left out or a vowel added in a short crisis word ("vdoka", "peit",
    "bolod" for "blod", as "blood" is kept), never a known word."""
    variants: dict[str, set[str]] = {}
    for word in crisis_words:
        if not (_MIN_SHORT_TYPO <= len(word) < _MIN_TYPO_WORD and word.isalpha()):
            continue
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(1, len(word) - 1)}
        drops = {word[:i] + word[i + 1:] for i in range(1, len(word))} if len(word) > _MIN_SHORT_TYPO else set()
        extra = {word[:i] + vowel + word[i:] for i in range(1, len(word) + 1) for vowel in "aeiou"}
        for variant in (swaps | drops | extra) - {word}:
            variants.setdefault(variant, set()).add(word)
    return {v: min(t) for v, t in variants.items()
            if len(v) >= _MIN_SHORT_TYPO and v not in known and v not in crisis_words}


def _texts(by_lang: dict[str, _Seq]) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(map(str, items)) for lang, items in by_lang.items()}


def _reach(words: tuple[str, ...]) -> int:
    """The most words a phrase can cover: a gap takes up to 3 more, a number its 'de'."""
    return sum(4 if w == "<...>" else 2 if w.startswith("<") else 1 for w in words)


def _anchors(phrases: list[tuple[str, ...]]) -> dict[str, tuple[int, ...]]:
    """Index each phrase by its rarest word, so a message only tries the phrases it may hold."""
    counts: dict[str, int] = {}
    for words in phrases:
        for word in set(words):
            counts[word] = counts.get(word, 0) + 1
    index: dict[str, list[int]] = {}
    for number, words in enumerate(phrases):
        literal = [w for w in words if not w.startswith("<")]
        anchor = min(literal, key=lambda w: (counts[w], -len(w)))
        index.setdefault(_stem(anchor), []).append(number)
    return {word: tuple(numbers) for word, numbers in index.items()}


def _phrase_words(phrase: Any) -> list[str]:
    """The canonical words of a lexicon phrase; wildcards kept as <n>, <5+> and <...>."""
    words: list[str] = []
    text, position = str(phrase), 0
    for wildcard in _PLACEHOLDER.finditer(text):
        words.extend(w.text for w in _canonical_words(normalize(text[position:wildcard.start()])))
        words.append(f"<{wildcard[1]}>" if wildcard[1] else "<...>")
        position = wildcard.end()
    words.extend(w.text for w in _canonical_words(normalize(text[position:])))
    return words


def _alternation(phrases: Iterable[tuple[str, ...]]) -> re.Pattern[str]:
    """One regex for one or more phrases, longest first so the most specific phrase wins."""
    ordered = sorted({w for w in phrases if w}, key=lambda words: (-len(words), words))
    body = "|".join(_phrase_pattern(words) for words in ordered)
    return re.compile(rf"(?<!\S)(?:{body})(?!\S)")


def _phrase_pattern(words: tuple[str, ...]) -> str:
    pattern = ""
    for word in words:
        pattern += _GAP if word == "<...>" else _word_pattern(word) + " "
    return pattern.rstrip(" ")


def _word_pattern(word: str) -> str:
    if word == "<n>":
        return _number_pattern(0)
    if word.startswith("<"):
        return _number_pattern(int(word[1:-2]))
    if len(word) >= _MIN_ENDING_WORD and word.isalpha():
        return re.escape(_stem(word)) + _ENDINGS
    return re.escape(word)


def _stem(word: str) -> str:
    """The part of a lexicon word a message must hold: "tuer" -> "tue" (SMS writers swap them)."""
    return word[:-1] if len(word) >= 4 and word.endswith("er") else word


def _number_pattern(minimum: int) -> str:
    """A number in digits or words, at least minimum (below 100), with an optional 'de'/'x'."""
    words = "|".join(sorted({_DOUBLES.sub(r"\1", w) for w, n in ALL_NUMBER_WORDS.items() if n >= minimum}))
    return rf"(?:{_digits_at_least(minimum)}|{words})(?: de| d| of| x)?"


def _digits_at_least(minimum: int) -> str:
    """A regex for the numbers written in digits that are at least minimum (below 100)."""
    if minimum <= 0:
        return r"\d+"
    tens, units = divmod(minimum, 10)
    if not tens:
        return rf"[1-9]\d+|[{units}-9]"
    higher_tens = rf"|[{tens + 1}-9]\d" if tens < 9 else ""
    return rf"[1-9]\d{{2,}}{higher_tens}|{tens}[{units}-9]"
