"""The words triage knows: SMS spellings, number words, everyday and filler words, and the
thresholds of typo fixing. Plain data, shared by compiling and matching."""

from __future__ import annotations

import re

from bot.core.text import NUMBER_WORDS

# Endings a lexicon word may take in a message: "frappe" also matches "frappee", "frapper".
# (s, x, r, nt, e, es, er, ee, ees, ent: written short, as it is compiled once per word.)
ENDINGS = "(?:[sxr]|nt|e(?:[sr]|es?|nt)?)?"
MIN_ENDING_WORD = 3
MIN_TYPO_WORD = 7  # shorter words are too close to everyday words ("pendre" / "prendre")
MIN_TYPO_ALONE = 10  # a typo in a phrase of one word: "epanoui" must not become "evanoui"
CORRECTIONS_CACHE = 50_000
# French written as it sounds drops silent endings: "dehor" (dehors), "enfan" (enfant), "froi".
SILENT_ENDINGS = ("t", "s", "d", "x", "e", "es", "ts", "ds")
MIN_SILENT_WORD = 3
MIN_SHORT_TYPO = 4
MIN_CONTEXT_WORD = 8  # an exact word this long vouches for a typo in a short one

NON_WORD = re.compile(r"[^\w\s]+")  # as bot.core.text.normalize splits words
PLACEHOLDER = re.compile(r"<(n|\d{1,2}\+)>|(\.\.\.|…)")
LONG_REPEATS = re.compile(r"([a-z])\1{2,}")
DOUBLES = re.compile(r"([a-z])\1")
GAP = r"(?:[^\s|]+ ){0,3}"
# A single letter typed for an elided word: "m a" is "m'a", "j ai" is "j'ai".
ELIDING = frozenset("jmltsndc") | {"qu", "jusqu", "quelqu", "lorsqu", "puisqu"}
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
GLUED_JE = re.compile(r"^j([bcdfghklmnpqrstvwxz][a-z]+)$")

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
FILLER_WORDS = frozenset(DOUBLES.sub(r"\1", w) for w in """
    lol mdr ptdr haha hahaha xd svp stp please aub trop grave bon bref oh ah et mais ou
    la le les l un une ce cette ces ca sa cest de du des au aux a en est ai suis moi tout
    je tu il elle on nous vous ils mon ma mes ton ta tes son ses notre votre leur
    hier soir matin nuit aujourdhui demain maintenant
    i you he she we they am is are the a this so it its my your his her our me
    yesterday today tonight now
    ik jij hij zij wij ben is het de een dit dat echt mijn jouw zijn haar ons
    gisteren vandaag vanavond morgen nu
""".split())

CRY_GROUPS = {"strong": 2, "help": 1, "urgency": 1, "filler": 0}  # a cry needs a weight of 2
