"""Crisis triage (bot.core.triage): the lexicon, figures of speech, the NLU, and the held-out set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.nlu import NluClient
from bot.core.flows import FlowError
from bot.core.text import normalize
from bot.core.triage import URGENT_MIN_CONFIDENCE, Lexicon, Triage, assess, load_lexicon
from tests.conftest import FIXED_FLOWS, ROOT, RasaServer

LEXICON = FIXED_FLOWS / "crisis.yml"
HELD_OUT = ROOT / "tests" / "data" / "crisis_heldout.yml"
MAX_FALSE_POSITIVES = 0.10


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(LEXICON)


@pytest.fixture(scope="module")
def held_out() -> dict[str, list[str]]:
    return yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))


def write(tmp_path: Path, text: str) -> Path:
    """A lexicon file with text in it."""
    path = tmp_path / "crisis.yml"
    path.write_text(text, encoding="utf-8")
    return path


def rates(verdicts: dict[str, list[Triage]]) -> tuple[float, float]:
    """Crisis recall and false-positive rate of verdicts on the held-out set."""
    recall = sum(t.priority == "urgent" for t in verdicts["crisis"]) / len(verdicts["crisis"])
    alarming = verdicts["alarming_but_not_crisis"]
    return recall, sum(t.priority == "urgent" for t in alarming) / len(alarming)


# --- each category, the way people text ---------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("jveux me suicidé", "suicide"),
    ("JE VAIS ME PENDRE", "means"),
    ("jpeux pu vivre comme ca", "suicide"),
    ("g pris 20 doliprane", "means_medicine"),
    ("j'ai avalé toute la boîte de cachets", "means_medicine"),
    ("jme scarifie le soir", "self_harm"),
    ("je me fais du mal", "self_harm"),
    ("mon mari me frape", "violence"),
    ("il m a tabassée hier soir", "violence"),
    ("il dit quil va me tué", "violence"),
    ("mon beau pere frappe mon fils", "child_in_danger"),
    ("ya un bebe tout seul dans la voiture", "child_in_danger"),
    ("jdors dehors ce soir", "homeless_tonight"),
    ("proprio ma mis a la rue", "homeless_tonight"),
    ("g pa mangé depui 3 jours", "hunger"),
    ("jarrive pu a respiré", "medical"),
    ("il est inconscient", "medical"),
    ("AU SECOURS", "danger"),
    ("adieu a tous", "farewell"),
    ("ik wil dood", "suicide"),
    ("mijn man slaat me", "violence"),
    ("i want to kill myself", "suicide"),
    ("he has a knife", "violence"),
])
def test_each_category_fires_on_sms_spelling_without_accents(lexicon: Lexicon, text: str, category: str) -> None:
    triage = assess(text, lexicon)
    assert triage.priority == "urgent", text
    assert triage.category == category, triage.reason


@pytest.mark.parametrize("text", ["20 doliprane", "j'ai pris vingt doliprane", "jai pris 15 lexomil"])
def test_a_dangerous_dose_fires(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon).category == "means_medicine"


def test_an_ordinary_dose_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("jai pris 2 doliprane pour la tete", lexicon).priority is None


def test_a_phrase_only_matches_whole_words(lexicon: Lexicon) -> None:
    assert assess("on peut s'accorder sur une date ? la statue du parc", lexicon).priority is None


def test_a_typo_in_a_long_word_is_forgiven(lexicon: Lexicon) -> None:
    assert assess("je vais me sucider", lexicon).category == "suicide"


def test_a_typo_never_turns_an_everyday_word_into_a_crisis(lexicon: Lexicon) -> None:
    assert assess("je cherche la prime d'accouchement", lexicon).priority is None
    assert assess("i cut my finger while cooking", lexicon).priority is None


# --- figures of speech --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ce formulaire me tue", "CE FORMULAIRE ME TUE !!", "mort de rire", "mdr", "mon telephone est mort",
    "ma batterie est morte", "je suis mort de fatigue", "je meurs de faim", "tu me tues", "ça me tue",
    "cette attente me tue", "j'ai failli mourir de rire", "this form is killing me", "ik ben dood moe",
    "ik ga dood van het lachen", "im starving",
])
def test_figures_of_speech_do_not_fire(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon).priority is None


def test_a_figure_of_speech_does_not_hide_real_danger_beside_it(lexicon: Lexicon) -> None:
    triage = assess("ce formulaire me tue mais surtout mon mari me frappe", lexicon)
    assert triage.category == "violence"


# --- the reason a social worker reads -----------------------------------------------------

def test_the_reason_names_the_category_label_and_the_persons_words(lexicon: Lexicon) -> None:
    triage = assess("Je veux me suicider.", lexicon)
    assert triage == Triage("urgent", "idées suicidaires « me suicider »", "suicide", ("me suicider",))


def test_the_reason_quotes_the_persons_own_spelling(lexicon: Lexicon) -> None:
    assert assess("mon mari ma frapé", lexicon).matched == ("ma frapé",)


def test_the_most_specific_phrase_gives_the_category(lexicon: Lexicon) -> None:
    triage = assess("il va me tuer", lexicon)
    assert (triage.category, triage.matched) == ("violence", ("va me tuer",))


def test_a_calm_message_is_not_urgent_and_has_no_reason(lexicon: Lexicon) -> None:
    assert assess("bonjour c koi vos horaires", lexicon) == Triage(None, "", None, ())


# --- the NLU ------------------------------------------------------------------------------

def test_a_confident_urgent_intent_alone_fires_and_says_so(lexicon: Lexicon) -> None:
    triage = assess("je sais plus quoi faire aidez moi", lexicon, "urgent", 0.93)
    assert triage == Triage("urgent", "aucun mot de la liste, mais le modèle de langue y voit une urgence (93 %) : "
                                      "lire le message", None, ())


def test_a_doubtful_urgent_intent_alone_does_not_fire(lexicon: Lexicon) -> None:
    low = URGENT_MIN_CONFIDENCE - 0.01
    assert assess("je sais plus quoi faire aidez moi", lexicon, "urgent", low).priority is None


def test_another_intent_does_not_fire_however_confident(lexicon: Lexicon) -> None:
    assert assess("je sais plus quoi faire", lexicon, "talk_to_someone", 0.99).priority is None


def test_an_urgent_intent_on_a_mere_figure_of_speech_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("ce formulaire me tue mdr", lexicon, "urgent", 0.99).priority is None


def test_when_the_nlu_alone_says_urgent_and_the_triage_does_not_the_reason_says_why(lexicon: Lexicon) -> None:
    past = assess("il y a 3 ans on dormait dehors", lexicon, "urgent", 1.0)
    assert (past.priority, past.reason) == (None, "à vérifier : le modèle de langue y voit une urgence (100 %), mais "
                                                  "le message parle du passé, d'un film, de papiers, d'une date à "
                                                  "venir ou d'une blague")
    assert "façon de parler" in assess("ce prof me tue avec ses devoirs", lexicon, "urgent", 0.9).reason
    assert "pas sûr" in assess("je sais pas", lexicon, "urgent", 0.4).reason
    assert assess("il y a 3 ans on dormait dehors", lexicon, "greet", 1.0).reason == ""


def test_a_case_the_nlu_alone_would_flag_goes_to_a_person_with_that_reason() -> None:
    from bot.core.engine import Interpretation
    from bot.core.flows import load_flows
    from bot.services import pipeline

    flows = load_flows(FIXED_FLOWS)
    meaning = pipeline._triage("il y a 3 ans on dormait dehors", Interpretation("urgent", 1.0, "nlu"), flows)
    assert meaning.goto == flows.human and meaning.goto != "urgent"
    assert meaning.reason and meaning.reason.startswith("à vérifier : le modèle de langue y voit une urgence")


def test_an_urgent_intent_about_a_film_or_the_past_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("on a vu un film sur un meurtre", lexicon, "urgent", 1.0).priority is None
    assert assess("il y a 3 ans on dormait dehors", lexicon, "urgent", 1.0).priority is None


def test_a_crisis_phrase_fires_even_beside_a_calm_context(lexicon: Lexicon) -> None:
    triage = assess("comme dans le film, je vais me pendre", lexicon, "urgent", 1.0)
    assert triage.category == "means" and "le modèle de langue le pense aussi (100 %)" in triage.reason


def test_words_and_intent_together_give_both_reasons(lexicon: Lexicon) -> None:
    triage = assess("il me frappe", lexicon, "urgent", 0.97)
    assert triage.reason == "violence en cours « me frappe » ; le modèle de langue le pense aussi (97 %)"


# --- loading the lexicon ------------------------------------------------------------------

def test_the_lexicon_has_every_category_in_every_language(lexicon: Lexicon) -> None:
    names = {c.name for c in lexicon.categories}
    assert {"suicide", "farewell", "means_medicine", "means", "self_harm", "violence", "child_in_danger",
            "homeless_tonight", "hunger", "medical", "danger"} <= names
    for category in lexicon.categories:
        assert set(category.label) == {"fr", "nl", "en"}
        assert all(category.phrases.get(lang) for lang in ("fr", "nl", "en")), category.name
    assert all(lexicon.not_crisis.get(lang) and lexicon.calm.get(lang) for lang in ("fr", "nl", "en"))


LABEL = "    label: {fr: faim, nl: honger, en: hunger}\n"


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("crisis:\n  hunger:\n" + LABEL, 2, "has no phrases"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: []\n", 4, "has no phrases"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange]\n      de: [hunger]\n", 6,
     "'de', which is not a language"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - rien mange\n        - \n", 7,
     "a phrase is empty"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - # jours sans manger\n", 6,
     "a phrase is empty"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - <x> jours\n", 6,
     "'<x>' is not a wildcard"),
    ("crisis:\n  hunger:\n    label: {fr: faim}\n    phrases:\n      fr: [rien mange]\n", 3,
     "has no text in nl, en"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange\n", 6, "not valid YAML"),
    ("crises:\n  hunger: {}\n", 1, "'crises' is not a section"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange]\ncalm:\n  fr: [un film]\n  es: [una pelicula]\n",
     8, "'es', which is not a language"),
])
def test_a_malformed_lexicon_is_refused_with_file_line_and_reason(
        tmp_path: Path, text: str, line: int, reason: str) -> None:
    with pytest.raises(FlowError) as error:
        load_lexicon(write(tmp_path, text))
    assert (error.value.file, error.value.line) == ("crisis.yml", line), error.value
    assert reason in error.value.reason


def test_an_admin_phrase_with_wildcards_works(tmp_path: Path) -> None:
    path = write(tmp_path, "crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n"
                 "        - <2+> jours ... rien mange\n      nl: []\n      en: []\n")
    assert assess("ca fait 3 jours que jai rien mangé", load_lexicon(path)).category == "hunger"
    assert assess("1 jour que jai rien mange", load_lexicon(path)).priority is None


# --- speed --------------------------------------------------------------------------------

def test_assessing_a_thousand_messages_takes_well_under_a_second(
        lexicon: Lexicon, held_out: dict[str, list[str]]) -> None:
    messages = (held_out["crisis"] + held_out["alarming_but_not_crisis"]) * 8
    messages = [f"{m} {i}" for i, m in enumerate(messages[:1000])]  # no two alike: no cache help
    start = time.perf_counter()
    for message in messages:
        assess(message, lexicon)
    assert time.perf_counter() - start < 1.0


# --- the held-out evaluation --------------------------------------------------------------

def test_the_held_out_set_is_big_enough_and_not_copied_into_the_lexicon(
        lexicon: Lexicon, held_out: dict[str, list[str]]) -> None:
    assert len(held_out["crisis"]) >= 60 and len(held_out["alarming_but_not_crisis"]) >= 40
    phrases = {normalize(p) for c in lexicon.categories for ps in c.phrases.values() for p in ps}
    assert not phrases & {normalize(m) for m in held_out["crisis"]}


def test_the_lexicon_alone_finds_every_held_out_crisis_with_few_false_alarms(
        lexicon: Lexicon, held_out: dict[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = {kind: [assess(m, lexicon) for m in messages] for kind, messages in held_out.items()}
    recall, false_positives = rates(verdicts)
    with capsys.disabled():
        print(f"\nlexicon alone: crisis recall {recall:.0%}, false positives {false_positives:.0%}")
    missed = [m for m, t in zip(held_out["crisis"], verdicts["crisis"], strict=True) if not t.priority]
    assert recall == 1.0, missed
    assert false_positives <= MAX_FALSE_POSITIVES


@pytest.mark.rasa
@pytest.mark.slow
def test_with_the_nlu_every_held_out_crisis_is_urgent_and_few_false_alarms(
        lexicon: Lexicon, held_out: dict[str, list[str]], rasa_up: RasaServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    nlu = NluClient(rasa_up.url, 5)
    verdicts: dict[str, list[Triage]] = {}
    nlu_only: dict[str, list[Triage]] = {}
    for kind, messages in held_out.items():
        parsed = [nlu.parse(m) for m in messages]
        verdicts[kind] = [assess(m, lexicon, p.intent, p.confidence) for m, p in zip(messages, parsed, strict=True)]
        nlu_only[kind] = [assess("", lexicon, p.intent, p.confidence) for p in parsed]
    recall, false_positives = rates(verdicts)
    nlu_recall, nlu_false_positives = rates(nlu_only)
    with capsys.disabled():
        print(f"\nlexicon + NLU: crisis recall {recall:.0%}, false positives {false_positives:.0%}"
              f" (NLU alone at {URGENT_MIN_CONFIDENCE}: {nlu_recall:.0%}, {nlu_false_positives:.0%})")
    missed = [m for m, t in zip(held_out["crisis"], verdicts["crisis"], strict=True) if not t.priority]
    assert recall == 1.0, missed
    alarms = [m for m, t in zip(held_out["alarming_but_not_crisis"], verdicts["alarming_but_not_crisis"],
                                strict=True) if t.priority]
    assert false_positives <= MAX_FALSE_POSITIVES, alarms


# --- classes of crisis, in phrasings of our own (never from nlu/eval) ----------------------

CLASS_CRISES = {
    "suicide": [
        "je me dis souvent que je ferais mieux de plus etre la", "jai plus envie de me battre, je lache tout",
        "des fois je pense que je devrais me tuer", "mes enfants seront mieux sans une mere comme moi",
        "ca sert plus a rien de continuer comme ca", "je veux pas me reveiller demain matin",
        "il faudrait que je disparaisse", "ik zou beter dood zijn", "het leven heeft voor mij geen zin meer",
        "i keep thinking everyone would be happier if i was gone", "there is no reason for me to stay alive",
        "i should just die", "i want to finish my life, i have no more strength",
        "personne ne viendra a mon enterrement de toute facon", "nobody would even notice if i disappeared",
        "ik kan dit niet meer, ik wil dat het ophoudt voor altijd", "ik ga er vannacht een eind aan maken",
        "j'en ai marre de tout, je veux que ce soit fini ce soir",
    ],
    "farewell": [
        "vous aurez plus de nouvelles de moi apres ce soir", "c'est mon dernier sms, merci pour tout",
        "ma fille trouvera la lettre que jai laissé pour elle", "dites a mon frere que je l'aimais",
        "jai tout donné a mon frere, mes habits mon velo, jen ai plus besoin",
        "jullie horen nooit meer iets van mij", "ik heb al mijn spullen weggegeven, ik heb ze niet meer nodig",
        "you will never hear from me again after tonight", "gave my things away today, dont need them anymore",
        "ive written letters to everyone", "im done, goodbye", "je tiens plus, demain vous me trouverez plus",
        "j'ai laissé les clés chez la voisine et un mot pour les enfants, pardon",
    ],
    "means_medicine": [
        "jai 30 comprimés de tramadol sur la table", "jai bu du whisky et pris des somniferes",
        "jai caché des medocs depuis des semaines, ce soir je les prends tous", "j'ai avalé 2 plaquettes de lexomil",
        "ik heb 40 slaappillen en een fles wodka gedronken", "took 30 pills with wine",
        "tonight i am going to swallow all of my mums tablets",
        "j'ai vidé la boite de xanax dans ma main", "ik heb een fles whisky en al mijn slaappillen",
    ],
    "means": [
        "jsuis au bord du pont", "jai acheté une corde hier", "je suis sur le balcon du 8e et je regarde en bas",
        "j'ai le flingue de mon mari dans la main", "ik heb een touw gekocht", "ik heb een strop gemaakt",
        "i bought a rope", "im going to throw myself under a bus", "je suis au 10e etage la fenetre est ouverte",
    ],
    "self_harm": [
        "je me suis coupé les poignets", "ma soeur se scarifie les bras tous les soirs",
        "je me suis griffée jusqu au sang", "g une lame de rasoir et je saigne",
        "ik heb mezelf weer gesneden", "mon ado se tape la tete contre les murs et se griffe le visage",
        "ik heb mijn polsen opengesneden", "je me coupe depuis 1h et ca s'arrete pas de saigner", "cut myself again tonight", "i have been burning my arms with cigarettes",
    ],
    "violence": [
        "il tape contre la porte et il dit quil va me tuer", "mon copain me frappe la je suis enceinte",
        "il m'enferme dans la chambre depuis hier", "mon mari m'etrangle, aidez moi",
        "on m'a forcée a avoir des relations ce soir", "hij slaat me en ik ben zwanger",
        "mijn man heeft me net geslagen", "someone is banging on my door screaming he will kill me",
        "he smashed my head against the wall", "il a pris mon telephone et fermé la porte a clé, je suis coincée",
        "je crois que mon voisin est en train de tuer sa femme", "i can hear my neighbour beating his wife", "my boyfriend is strangling me help", "my little brother is being beaten by my dad",
    ],
    "child_in_danger": [
        "le voisin bat son petit garcon, ca crie", "ya un bebe tout seul sur le parking depuis 1h",
        "ma fille de 3 ans est tombée du 2e etage", "mon fils de 4 ans a avalé des piles",
        "mijn buurman slaat zijn kind", "er is een kindje helemaal alleen in het park",
        "my neighbour is beating his little girl", "ma petite soeur me dit que l'oncle la touche",
        "le bebe de la voisine pleure depuis 5 heures et personne ouvre",
        "de baby van de buren huilt al uren en niemand doet open", "mijn dochtertje heeft wasmiddel gedronken",
        "theres a little boy wandering alone by the motorway", "mon bebe a 40 de fievre et il tremble de partout", "a toddler alone in the car park",
    ],
    "medical": [
        "mon pere est tombé et il bouge plus", "elle respire plus", "il saigne de partout apres l'accident",
        "mon pere a une douleur dans le bras gauche et il transpire", "mijn moeder is gevallen en reageert niet",
        "ik krijg geen adem meer", "mijn oma is van de trap gevallen en bloedt aan haar hoofd",
        "mon mari s'est renversé de l'huile bouillante sur le bras", "my dad fell and is not responding", "my friend is having a fit",
    ],
    "homeless_tonight": [
        "on est dehors avec les petits ce soir, il gèle", "on dort ou ce soir avec mon fils",
        "le foyer est complet on va dormir ou avec les enfants", "jai 3 enfants et on a nul part pour la nuit",
        "we slapen vannacht buiten met de kinderen", "sleeping outside tonight with my kids",
        "me and my 2 kids have nowhere to sleep tonight", "on dort dans la cage d'escalier avec mon bebe",
        "we slapen in een portiek met de kinderen", "me and my kids are sleeping in the bus station",
    ],
    "help_now": [
        "AIDEZ MOI SVP", "urgent svp aidez moi", "HELP MIJ SNEL", "HELP ME NOW PLEASE", "SOS SOS", "HELP ME",
        "URGENCE !!! VENEZ", "a laide a laide", "NOOD HELP", "NOOD",
    ],
}
CLASS_CALM = {
    "idiom": ["ce film est mortel", "tu me fais mourir de rire toi", "je suis debordée au boulot, je me tue a la tache",
              "ce boulot va me tuer", "ce prof me tue avec ses devoirs", "ik ben dood op na mijn shift"],
    "joke": ["mdr jvais le tuer mon frere il a mangé mes chips", "au secours lundi cest la rentree haha",
             "lol jvais me pendre si jai encore un formulaire", "haha au secours mon chat a cassé un vase",
             "haha ik ga dood van deze vragenlijst", "lol this queue is killing me"],
    "street_place": ["jhabite rue de la station, cest loin de chez vous ?", "vous etes dans quelle rue ?",
                     "je vous attends rue de la Loi", "waar is jullie kantoor, ik sta in de kerkstraat",
                     "where is your office, im on station street"],
    "medicine_papers": ["il me faut une attestation pour mes somniferes pour la mutuelle",
                        "est ce que le cpas rembourse le xanax ?", "mon medecin ma prescrit du xanax, la mutuelle rembourse ?",
                        "are sleeping pills reimbursed", "do you reimburse antidepressants",
                        "le médecin m'a donné 30 comprimés de paracetamol, c'est remboursé ?"],
    "past_bereavement": ["mon pere est decede en mars, comment faire pour la succession",
                         "ma grand mere est morte il y a 2 ans", "il y a 3 ans jetais sans abri, maintenant jai un appart",
                         "mijn man is vorig jaar overleden, krijg ik een weduwepensioen",
                         "my dad died five years ago, can i still claim",
                         "i used to cut myself when i was a teenager, now i want to train as a nurse",
                         "i was in a violent relationship years ago, now i need housing help"],
    "film_news": ["jai vu aux infos un homme qui sest jeté du pont", "dans la serie il se pend a la fin",
                  "j'ai regardé un documentaire sur les violences conjugales", "ik heb op tv een film gezien over zelfmoord",
                  "we watched a film about suicide in class",
                  "t'as vu ce reportage sur les enfants maltraités ?"],
    "eviction_later": ["on doit quitter lappartement dans 2 mois", "le proprio nous expulse en juin",
                       "on doit partir de l'appartement fin septembre", "we moeten verhuizen binnen 2 maanden",
                       "we have to move out next month"],
    "urgent_document": ["urgent le formulaire doit etre rendu demain", "c urgent pour mon attestation",
                        "urgent svp j'ai besoin de l'attestation pour demain", "urgent i need my certificate today"],
}


@pytest.mark.parametrize(("text", "category"), [(t, c) for c, texts in CLASS_CRISES.items() for t in texts])
def test_each_class_of_crisis_fires_in_new_phrasings(lexicon: Lexicon, text: str, category: str) -> None:
    triage = assess(text, lexicon)
    assert triage.priority == "urgent", text
    assert triage.category == category or {triage.category, category} == {"danger", "help_now"}, triage.reason


@pytest.mark.parametrize("text", [t for texts in CLASS_CALM.values() for t in texts])
def test_calm_but_alarming_messages_do_not_fire_on_the_lexicon(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon).priority is None, assess(text, lexicon).reason


@pytest.mark.parametrize("text", [t for texts in CLASS_CALM.values() for t in texts])
def test_calm_but_alarming_messages_do_not_fire_on_a_sure_nlu_alone(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon, "urgent", 1.0).priority is None


# --- the rules, one by one ------------------------------------------------------------------

def test_a_weak_phrase_fires_alone_but_not_in_the_past_or_in_jest(lexicon: Lexicon) -> None:
    assert assess("au secours", lexicon).category == "danger"
    assert assess("au secours mon frigo a laché mdr", lexicon).priority is None
    assert assess("ik ben dakloos", lexicon).category == "homeless_tonight"
    assert assess("drie jaar geleden was ik dakloos", lexicon).priority is None


def test_a_strong_phrase_still_fires_beside_a_joke_marker(lexicon: Lexicon) -> None:
    # "lol" can hide real distress; only a joke about an everyday hassle is a figure of speech
    assert assess("je veux mourir lol", lexicon).category == "suicide"
    assert assess("lol je vais me pendre si jai encore des impots", lexicon).priority is None


def test_negation_is_still_worth_a_look(lexicon: Lexicon) -> None:
    triage = assess("je ne veux pas mourir", lexicon)
    assert (triage.priority, triage.category) == ("urgent", "danger")
    assert assess("i dont want to die", lexicon).category == "danger"


def test_a_cry_for_help_must_be_the_whole_message(lexicon: Lexicon) -> None:
    for cry in ("URGENT AIDEZ MOI", "help mij nu", "sos", "aidez moi aidez moi", "venez vite svp", "HELP ME"):
        assert assess(cry, lexicon).category in ("help_now", "danger"), cry
    for calm in ("aide", "help", "help me", "urgent", "urgent mon cv svp", "aidez moi pour le formulaire",
                 "BONJOUR AIDE MOI POUR LE DOSSIER", "au secours lol"):
        assert assess(calm, lexicon).priority is None, calm


def test_a_combination_needs_every_part(lexicon: Lexicon) -> None:
    triage = assess("jai bu la vodka et avalé mes somnifères", lexicon)
    assert triage.category == "means_medicine"
    assert "moyens : alcool + médicaments « vodka » + « somnifères » + « bu »" in triage.reason
    assert assess("la vodka et les somnifères ca se melange pas ?", lexicon).priority is None
    assert assess("un petit est tout seul devant l'ecole", lexicon).category == "child_in_danger"
    assert assess("je suis toute seule avec mon bebe, je cherche une creche", lexicon).priority is None


def test_a_typo_in_a_short_word_counts_only_beside_two_exact_words(lexicon: Lexicon) -> None:
    assert assess("lots of bolod on the floor", lexicon).category == "medical"
    assert assess("il me vole", lexicon).priority is None  # not "il me viole"
    assert assess("on a ete vole hier", lexicon).priority is None


def test_words_written_as_they_sound_and_glued_pronouns_match(lexicon: Lexicon) -> None:
    assert assess("je dor dehor avek mes 2 enfan", lexicon).category == "homeless_tonight"
    assert assess("il metrangle", lexicon).category == "violence"
    assert assess("je me gratte jusqu au sang", lexicon).category == "self_harm"


def test_the_reason_says_the_label_the_persons_own_words_and_the_nlu_in_plain_words(lexicon: Lexicon) -> None:
    triage = assess("J'ai avalé 30 comprimés de Doliprane", lexicon, "urgent", 0.97)
    assert triage.reason == ("moyens : médicaments + quantité « avalé 30 comprimés » ; "
                             "le modèle de langue le pense aussi (97 %)")
    assert assess("Mon mari m’a frappé !!", lexicon).reason == "violence en cours « m'a frappé »"
    assert "intent" not in triage.reason and "mots:" not in triage.reason


def test_the_reason_fits_in_cases_reason_and_keeps_the_first_hits(lexicon: Lexicon) -> None:
    text = ("il me frappe, il a un couteau, il menace de me tuer, je suis enfermée, je veux mourir, "
            "j'ai pris 30 cachets, je me scarifie, mon bebe est tout seul, je dors dehors ce soir " * 3)
    triage = assess(text, lexicon, "urgent", 0.99)
    assert len(triage.reason) <= 255
    assert triage.reason.endswith("le modèle de langue le pense aussi (99 %)") and "…" in triage.reason


# --- everywhere in the conversation ------------------------------------------------------

@pytest.mark.parametrize(("step", "opted_out"), [(None, False), ("talk_when", False), ("stop_ask", False),
                                                 (None, True)])
@pytest.mark.parametrize("text", ["URGENT AIDEZ MOI", "jai bu du whisky et pris des somniferes",
                                  "je vous dis adieu, prenez soin de vous"])
def test_a_new_kind_of_crisis_is_caught_inside_a_flow_and_after_opt_out(
        text: str, step: str | None, opted_out: bool) -> None:
    from bot.core.engine import Incoming, State
    from bot.core.flows import load_flows
    from bot.services import pipeline

    flows = load_flows(FIXED_FLOWS)
    meaning, _ = pipeline.understand(None, flows, State(lang="fr", step=step), Incoming(text, opted_out=opted_out))
    assert meaning.goto == "urgent", meaning


def test_a_cry_for_help_in_a_thread_a_worker_holds_still_gets_the_numbers(app: Any) -> None:
    from tests.conftest import Phone, hold_thread, rows

    phone = Phone(app, "+32470555110")
    phone.text("0")  # a normal case: waiting for a human
    hold_thread(app, phone, "y@cpas.example")
    assert phone.text("merci") == []  # the worker talks, the bot is silent
    replies = phone.text("URGENT VENEZ VITE")
    assert "112" in replies[0]
    assert rows(app, "SELECT priority FROM cases") == [("urgent",)]


# --- no copy of the independent sets ----------------------------------------------------

def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_no_sentence_of_the_independent_sets_is_in_the_training_data_or_the_lexicon(lexicon: Lexicon) -> None:
    independent = {normalize(s) for path in (ROOT / "nlu" / "eval").glob("*.yml")
                   for s in _strings(yaml.safe_load(path.read_text(encoding="utf-8")))}
    mine = [ROOT / "nlu" / "data" / name for name in ("urgent.yml", "hard_negatives.yml")
            if (ROOT / "nlu" / "data" / name).exists()]
    examples = {normalize(line.strip()[2:]) for path in mine for block in yaml.safe_load(path.read_text())["nlu"]
                if "examples" in block for line in block["examples"].splitlines() if line.strip().startswith("- ")}
    phrases = {normalize(p) for c in lexicon.categories for by_lang in (c.phrases, c.weak)
               for ps in by_lang.values() for p in ps}
    assert not examples & independent
    assert not {p for p in phrases if len(p.split()) > 3} & independent
    assert set(CLASS_CRISES) - {"help_now"} <= {c.name for c in lexicon.categories}
    assert not {normalize(t) for texts in [*CLASS_CRISES.values(), *CLASS_CALM.values()] for t in texts} & independent


# --- speed ---------------------------------------------------------------------------------

def test_the_triage_adds_well_under_two_milliseconds_at_p50() -> None:
    from tests.bench.triage import TARGET_P50_MS, measure

    figures = measure(300)
    assert figures["p50_ms"] <= TARGET_P50_MS and figures["cold_p50_ms"] <= TARGET_P50_MS, figures


# --- the inbox, in a browser ----------------------------------------------------------------

def test_the_inbox_shows_why_a_message_was_flagged_in_words(live: Any, browser: Any) -> None:
    from tests.conftest import Phone, make_user
    from tests.test_browser import case_of, log_in

    app, server = live
    make_user(app)
    replies = Phone(app, "+32470000231").text("J'ai avalé 30 comprimés de Doliprane, adieu à tous")
    assert "112" in replies[0]
    case_id = case_of(app, "+32470000231")
    page = browser.new_page()
    log_in(page, server.url)
    queued = page.locator(f'#queue li.case[data-case-id="{case_id}"] .reason').inner_text()
    page.goto(f"{server.url}/inbox/cases/{case_id}")
    shown = page.locator("dd.reason").inner_text()
    for text in (queued, shown):
        assert "moyens : médicaments + quantité" in text and "« avalé 30 comprimés »" in text, text
        assert "message d'adieu « adieu à tous »" in text, text
        assert "intent urgent" not in text and "mots:" not in text
    assert page.locator("dd.reason li").count() == 2  # one line per reason on the case page
