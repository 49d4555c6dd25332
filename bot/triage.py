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
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot.flows import FlowError
from bot.lang import LANGUAGES
from bot.text import NUMBER_WORDS, normalize

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

_PLACEHOLDER = re.compile(r"<(n|\d{1,2}\+)>|(\.\.\.|…)")
_LONG_REPEATS = re.compile(r"([a-z])\1{2,}")
_DOUBLES = re.compile(r"([a-z])\1")
_GAP = r"(?:[^\s|]+ ){0,3}"
# A single letter typed for an elided word: "m a" is "m'a", "j ai" is "j'ai".
_ELIDING = frozenset("jmltsndc") | {"qu"}
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
    verdienen streven sterken sejours touchers violente violentes enfere noting pinched
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
    """One kind of crisis: its label and its phrases per language."""

    name: str
    label: dict[str, str]
    phrases: dict[str, tuple[str, ...]]


class _Compiled(NamedTuple):
    """One crisis phrase, compiled."""

    category: str
    pattern: re.Pattern[str]


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
    # What each typed word became, remembered: most words come back in message after message.
    corrections: dict[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict, compare=False,
                                                                 repr=False)

    def category(self, name: str) -> Category:
        """The category called name."""
        return next(c for c in self.categories if c.name == name)


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
    fixed: bool = False


def assess(text: str, lexicon: Lexicon, intent: str | None = None, confidence: float = 0.0) -> Triage:
    """Urgent when a crisis phrase matches, or the NLU says urgent with enough confidence."""
    original = normalize(text).split()
    words = _canonical_words(" ".join(original), lexicon)
    canonical = " ".join(w.text for w in words)
    kept, starts = _without_figures(canonical, lexicon)
    found = [hit for hit in _crisis_hits(kept, starts, lexicon) if _trusted([words[i] for i in hit[3]])]
    hits = [(name, _source(inside, words, original)) for name, _, _, inside in _outermost(found)]
    nlu_urgent = (intent == URGENT_INTENT and confidence >= URGENT_MIN_CONFIDENCE
                  and not _only_figures(kept) and (bool(hits) or not _calm(canonical, lexicon)))
    if not hits and not nlu_urgent:
        return Triage(None, "")
    reason = "; ".join(filter(None, [_words_reason(hits, lexicon),
                                     f"intent {URGENT_INTENT} ({confidence:.2f})" if nlu_urgent else ""]))
    category = hits[0][0] if hits else None  # the longest match is the most specific
    return Triage("urgent", reason, category, tuple(dict.fromkeys(words for _, words in hits)))


def _words_reason(hits: list[tuple[str, str]], lexicon: Lexicon) -> str:
    """The words part of a reason: mots: 'me suicider' (suicide), with each French label."""
    if not hits:
        return ""
    return "mots: " + ", ".join(f"'{words}' ({lexicon.category(name).label['fr']})" for name, words in hits)


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


def _canonical(word: str, lexicon: Lexicon | None) -> tuple[tuple[str, bool], ...]:
    """The canonical words one typed word stands for, each with whether a typo was fixed."""
    cache = lexicon.corrections if lexicon else {}
    if word in cache:
        return cache[word]
    parts = []
    for part in _unglued(word, lexicon) if lexicon else _unsms(word):
        if part not in DROPPED_WORDS:
            part = _DOUBLES.sub(r"\1", part)
            fixed = _corrected(part, lexicon) if lexicon else part
            parts.append((fixed, fixed != part))
    if len(cache) >= _CORRECTIONS_CACHE:
        cache.clear()
    cache[word] = result = tuple(parts)
    return result


def _trusted(words: list[_Word]) -> bool:
    """A typo counts beside an exact word, or alone in a long word ("unconcious")."""
    return any(not w.fixed or len(w.text) >= _MIN_TYPO_ALONE for w in words)


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


def _unglued(word: str, lexicon: Lexicon) -> list[str]:
    """Like _unsms, and "jaimerai" is "je aimerai" when "aimerai" is a crisis word."""
    rest = _DOUBLES.sub(r"\1", word[1:])
    if word in SMS_SPELLINGS or word[0] not in "jn" or len(rest) < 3 or word[0] + rest in lexicon.known_words:
        return _unsms(word)
    if any(rest[:len(rest) - cut] in lexicon.crisis_words for cut in range(min(4, len(rest) - 2))):
        return ["je", rest] if word[0] == "j" else [rest]
    return _unsms(word)


def _corrected(word: str, lexicon: Lexicon) -> str:
    if len(word) < _MIN_TYPO_WORD - 1 or word in lexicon.known_words or not word.isalpha():
        return word
    targets = lexicon.typo_targets.get(word[0], ())
    found = extract(word, targets, scorer=OSA.distance, score_cutoff=1, limit=None) if targets else []
    allowed = [target for target, _, _ in found if not _same_word_other_ending(word, target)]
    return allowed[0] if allowed else word


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


def _source(inside: list[int], words: list[_Word], original: list[str]) -> str:
    """The person's own words behind the canonical words of a match."""
    return " ".join(original[words[inside[0]].first:words[inside[-1]].last + 1])


def _calm(text: str, lexicon: Lexicon) -> bool:
    """True when the message speaks of a calm context: the past, a film, the news."""
    return lexicon.calm_pattern is not None and lexicon.calm_pattern.search(text) is not None


def _only_figures(kept: str) -> bool:
    """True when figures of speech were set aside and nothing that matters is left."""
    return "|" in kept and all(w in FILLER_WORDS or w == "|" for w in kept.split())


_Hit = tuple[str, int, int, list[int]]  # category, start, end, indices of the words


def _crisis_hits(kept: str, starts: list[int], lexicon: Lexicon) -> list[_Hit]:
    """Every crisis phrase found in the text, looked for only around its anchor word."""
    spans: set[tuple[int, int, int]] = set()
    for index, where in _candidates(kept, lexicon).items():
        pattern = lexicon.phrases[index].pattern
        for token in where:
            low = starts[max(0, token - lexicon.reach)]
            high = starts[token + lexicon.reach] - 1 if token + lexicon.reach < len(starts) else len(kept)
            spans.update((index, *m.span()) for m in pattern.finditer(kept, low, high))
    return [(lexicon.phrases[index].category, start, end,
             list(range(bisect_left(starts, start), bisect_left(starts, end)))) for index, start, end in sorted(spans)]


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


def load_lexicon(path: Path) -> Lexicon:
    """Read and check the crisis lexicon; raise FlowError naming the file, line and reason."""
    name = Path(path).name
    doc = _read(Path(path))
    stray = [key for key in doc if key not in ("crisis", "not_crisis", "calm")]
    if stray:
        raise FlowError(name, doc.key_lines[stray[0]], f"'{stray[0]}' is not a section here: "
                        "the file has 'crisis:', 'not_crisis:' and 'calm:'")
    crisis = doc.get("crisis")
    if not isinstance(crisis, _Map) or not crisis:
        raise FlowError(name, doc.key_lines.get("crisis", 1), "'crisis:' must list categories "
                        "(suicide, violence, ...), each with a label and phrases")
    categories = [_category(key, raw, name, crisis.key_lines[key]) for key, raw in crisis.items()]
    not_crisis = _phrases(doc.get("not_crisis") or _Map(), name, doc.key_lines.get("not_crisis"),
                          "'not_crisis'")
    calm = _phrases(doc.get("calm") or _Map(), name, doc.key_lines.get("calm"), "'calm'")
    return _compile(categories, not_crisis, calm, name)


def _read(path: Path) -> _Map:
    loader = _CrisisLoader(path.read_text(encoding="utf-8"))
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FlowError(path.name, mark.line + 1 if mark else None,
                        f"this is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()
    if not isinstance(doc, _Map):
        raise FlowError(path.name, 1, "the file must start with 'crisis:'")
    return doc


def _category(key: Any, raw: Any, file: str, line: int) -> tuple[str, dict[str, str], dict[str, _Seq]]:
    if not isinstance(raw, _Map):
        raise FlowError(file, line, f"category '{key}' needs 'label:' and 'phrases:' under it")
    label = raw.get("label")
    if not isinstance(label, _Map):
        raise FlowError(file, line, f"category '{key}' has no 'label:' (a short name per language)")
    _check_languages(label, file, f"the label of '{key}'")
    missing = [lang for lang in LANGUAGES if not str(label.get(lang) or "").strip()]
    if missing:
        raise FlowError(file, label.line, f"the label of '{key}' has no text in {', '.join(missing)}")
    if "phrases" not in raw:
        raise FlowError(file, line, f"category '{key}' has no phrases")
    phrases = _phrases(raw["phrases"], file, raw.key_lines["phrases"], f"category '{key}'")
    if not any(phrases.values()):
        raise FlowError(file, raw.key_lines["phrases"], f"category '{key}' has no phrases")
    return str(key), {lang: str(label[lang]) for lang in LANGUAGES}, phrases


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


def _compile(categories: list[tuple[str, dict[str, str], dict[str, _Seq]]],
             not_crisis: dict[str, _Seq], calm: dict[str, _Seq], file: str) -> Lexicon:
    figures = [p for items in not_crisis.values() for p in items]
    contexts = [p for items in calm.values() for p in items]
    compiled = {(name, tuple(_phrase_words(p)))
                for name, _, phrases in categories for items in phrases.values() for p in items}
    ordered = sorted(compiled)
    crisis_words = {w for _, words in ordered for w in words if not w.startswith("<")}
    figure_words = {w for p in figures + contexts for w in _phrase_words(p) if not w.startswith("<")}
    targets: dict[str, list[str]] = {}
    for word in sorted(crisis_words):
        if len(word) >= _MIN_TYPO_WORD and word.isalpha():
            targets.setdefault(word[0], []).append(word)
    everyday = {*EVERYDAY_WORDS, *ALL_NUMBER_WORDS, *" ".join(SMS_SPELLINGS.values()).split()}
    known = crisis_words | figure_words | {_DOUBLES.sub(r"\1", w) for w in everyday}
    return Lexicon(
        categories=tuple(Category(name, label, {lang: tuple(map(str, items)) for lang, items in phrases.items()})
                         for name, label, phrases in categories),
        not_crisis={lang: tuple(map(str, items)) for lang, items in not_crisis.items()},
        calm={lang: tuple(map(str, items)) for lang, items in calm.items()},
        phrases=tuple(_Compiled(name, _alternation([words])) for name, words in ordered),
        anchors=_anchors([words for _, words in ordered]),
        reach=max(_reach(words) for _, words in ordered),
        not_crisis_pattern=_alternation([tuple(_phrase_words(p)) for p in figures]) if figures else None,
        calm_pattern=_alternation([tuple(_phrase_words(p)) for p in contexts]) if contexts else None,
        typo_targets={letter: tuple(words) for letter, words in targets.items()},
        crisis_words=frozenset(crisis_words),
        known_words=frozenset(known),
        file=file,
    )


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
