"""Linguistic cues: a spaCy component that reads who does what to whom, relations, work roles,
ages, school years and time words from a parsed opener and stores them on `doc._.cues`.

The cues are sparse string->float features for the classifier (see triage/features.py). They are
deliberately coarse (e.g. "harm_obj=1st" rather than the verb) so that they carry over to wordings
the corpus does not contain.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from triage.lexicon import (
    CHILDHOOD_RECALL, CLAUSE_BREAKS, THIRD_POSS, THIRD_POSS_PARSED,
    FIRST_OBJ, FIRST_PL_SUBJ, FIRST_POSS, FIRST_SG_SUBJ, HARM_VERBS, PROFESSIONS, RELATION_GROUPS,
    REFLEXIVE_SELF, SCHOOL_WORDS, THIRD_PERSON, TIME_NOW, TIME_PAST, TIME_RECENT, WORK_WORDS, YOUTH_WORDS, is_now_word,
)

if not Doc.has_extension("cues"):
    Doc.set_extension("cues", default=None)
if not Doc.has_extension("text"):
    Doc.set_extension("text", default=None)  # Doc.text rebuilt from tokens costs ~0.1 ms a call
if not Doc.has_extension("lemma_text"):
    Doc.set_extension("lemma_text", default=None)  # optional cache read by triage.features.lemma_text

_RELATION_OF = {word: group for group, words in RELATION_GROUPS.items() for word in words}
_NUMBER_WORDS = {"acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14,
                 "vijftien": 15, "zestien": 16, "zeventien": 17, "achttien": 18, "negentien": 19,
                 "twintig": 20}
_AGE_PATTERNS = [
    re.compile(r"\b(?:ik\s+ben|ben|i'?m|i\s+am|kben|k\s+ben|ik\s+zen|ik\s+zijn)\s+(?:pas\s+|net\s+|bijna\s+)?"
               r"(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\b(?!\s*(?:jaar\s+(?:getrouwd|samen|bij)|keer|uur|min|%|euro|kilo|kg|weken|maanden|dagen))",
               re.I),
    re.compile(r"\b(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s*(?:jaar\s+oud|jarige|jr\b|j\b|y/?o\b|years?\s+old)", re.I),
    re.compile(r"\b(?:i'?m|ik\s+ben)\s+(?:een\s+)?(?:meisje|jongen|girl|boy)\s+(?:van\s+)?(\d{1,2})\b", re.I),
]
_SCHOOL_YEAR = re.compile(
    r"\b(?:groep\s*[1-8]|klas\s*[1-6]|[1-6]\s*(?:e|de|ste)?\s*(?:klas|jaar\s+middelbaar|middelbaar|leerjaar)|"
    r"brugklas|(?:havo|vwo|vmbo|mavo|atheneum|gymnasium|kader|tl|bbl|kbl)\s*[- ]?[1-6]|"
    r"(?:eerste|tweede|derde|vierde|vijfde|zesde)\s+(?:klas|middelbaar|jaar|leerjaar|graad)|"
    r"(?:lagere|middelbare|basis)\s*school|mijn\s+mentor|mn\s+mentor|m'n\s+mentor)\b",
    re.I,
)
# Writers who describe their own aggression: the strongest sign of the perpetrator role, and often
# phrased without a harm verb ("ik verlies mijn geduld", "ik ontplof").
_SELF_AGGRESSION = re.compile(
    r"(?:\b(?:ik|k)\s+(?:ben\s+bang\s+dat\s+ik|verlies|ontplof|flip|word\s+(?:zo\s+)?(?:boos|kwaad|agressief)|"
    r"kan\s+(?:mezelf|mijzelf|mn\s+woede|mijn\s+woede|me)\s+niet|heb\s+(?:haar|hem|mijn|mn|m'n|ze|zijn|ons)\b|"
    r"schreeuw|sla(?!ap)|schop|duw|knijp|scheld|dreig|controleer|bedreig|mishandel)|"
    r"\b(?:mijn|mn|m'n)\s+(?:woede|agressie|driftbuien|boosheid|geduld|handen|losse\s+handjes)\b|"
    r"\b(?:ik\s+ben\s+(?:de\s+)?dader|pleger|anger\s+management|agressieregulatie|agressietraining|"
    r"ik\s+(?:wil|moet)\s+(?:stoppen|leren)|i\s+(?:hit|hurt|lose)|spijt)\b)"
    # ... unless the writer is the object: "ik ben bang dat ik mezelf iets aandoe", "i hurt myself".
    rf"(?!\s+(?:{'|'.join(map(re.escape, sorted(REFLEXIVE_SELF)))})\b)",
    re.I,
)
# Signs of a writer under 18 without an age: parents' rules and permission, school life (Dutch, Flemish
# and English). Weighed by the model with everything else, never decisive on its own.
_MINOR_CONTEXT = re.compile(
    r"\b(?:(?:mijn|mn|m'n)\s+(?:ouders|moeder|vader|mama|papa|ma|pa)\s+(?:mogen|mag)\s+(?:dit\s+|het\s+)?(?:niet|nie|nooit)|"
    r"(?:mag|mocht)\s+(?:ik\s+)?(?:niet|nie|nooit)\s+van\s+(?:mijn|mn|m'n)\s+(?:ouders|moeder|vader|mama|papa)|"
    r"van\s+(?:mijn|mn|m'n)\s+(?:ouders|moeder|vader|mama|papa)\s+mag\s+ik|zakgeld|huiswerk|bedtijd|huisarrest|"
    r"na\s+school|op\s+school|naar\s+school|(?:mijn|mn|m'n)\s+(?:mentor|juf|meester|klas)|"
    r"my\s+(?:mum|mom|parents|dad)\s+(?:won'?t|wont|doesn'?t|don'?t)\s+(?:let|know)|grounded|"
    r"(?:year|grade)\s+(?:[5-9]|1[0-2])\b|(?:[5-9]|1[0-2])th\s+grade|high\s+school|middle\s+school|my\s+teacher)",
    re.I,
)
# An adult telling of their own childhood: the harm is past and the writer is not a minor.
_PROCEDURE = re.compile(
    r"\b(?:anoniem|melding|melden|openingstijden|hoe\s+werkt|wat\s+gebeurt|stage|scriptie|onderzoek|"
    r"werkstuk|profielwerkstuk|vacature|sollicit|meldcode|afwegingskader|privacy|bellen|telefoonnummer)",
    re.I,
)


def _age_bucket(age: int) -> str | None:
    if age < 6 or age > 99:
        return None
    if age < 12:
        return "child"
    if age < 16:
        return "12-15"
    if age < 18:
        return "16-17"
    if age < 26:
        return "18-25"
    if age < 65:
        return "26-64"
    return "65+"


def _ages(text: str) -> list[int]:
    ages = []
    for pattern in _AGE_PATTERNS:
        for m in pattern.finditer(text):
            raw = m.group(1).lower()
            ages.append(_NUMBER_WORDS.get(raw) or int(raw))
    return ages


def _person(tok: Token) -> str | None:
    low = tok.lower_
    if low in FIRST_SG_SUBJ or low in FIRST_PL_SUBJ or low in FIRST_OBJ:
        return "1st"
    if low in THIRD_PERSON:
        return "3rd"
    group = _relation(tok)
    if group:
        return "rel"
    return None


def _relation(tok: Token) -> str | None:
    return _RELATION_OF.get(tok.lower_) or _RELATION_OF.get(tok.lemma_.lower())


def _possessor(tok: Token) -> str | None:
    """'1st' for 'mijn buurvrouw' / 'mn moeder', '3rd' for 'haar man'."""
    for child in tok.children:
        if child.dep_.startswith("nmod:poss") or child.dep_ == "det":
            if child.lower_ in FIRST_POSS:
                return "1st"
            if child.lower_ in THIRD_POSS_PARSED:
                return "3rd"
    if tok.i > 0:
        prev = tok.doc[tok.i - 1].lower_
        if prev in FIRST_POSS:
            return "1st"
        if prev in THIRD_POSS:
            return "3rd"
    return None


# The patterns behind the text-level cues, by cue name: the public view of the regular expressions above,
# for readers outside this module (the reviewer page highlights what a cue stands for).
CUE_PATTERNS: dict[str, tuple[re.Pattern, ...]] = {
    "age": tuple(_AGE_PATTERNS),
    "school_year": (_SCHOOL_YEAR,),
    "self_aggression": (_SELF_AGGRESSION,),
    "procedure_word": (_PROCEDURE,),
    "minor_context": (_MINOR_CONTEXT,),
    "childhood_recall": (CHILDHOOD_RECALL,),
}


_SUBJ_ME = frozenset({"ik", "k", "we", "wij", "i", "kik"})
_SUBJ_OTHER = frozenset({"hij", "zij", "ze", "die", "he", "she", "they"})
_OBJ_ME = frozenset({"me", "mij", "ons", "mezelf", "mij.", "me.", "m'n", "mn", "mijn", "my", "me,"})
_PASSIVE_AUX = frozenset({"word", "werd", "wordt", "ben", "worden", "werden", "was", "am", "was", "get", "got"})
_BREAKS = CLAUSE_BREAKS


def _surface_agency(doc: Doc, i: int) -> list[str]:
    """Who harms whom around harm word i, read from word order (robust where the parse fails)."""
    found: list[str] = []
    subject = None
    passive = reflexive = False
    j = i - 1
    while j >= max(0, i - 5):
        low = doc[j].lower_
        if low in _BREAKS:
            break
        if low in _PASSIVE_AUX:
            passive = True
        reflexive = reflexive or low in REFLEXIVE_SELF
        if subject is None and (low in _SUBJ_ME or low in _SUBJ_OTHER or _relation(doc[j])):
            subject = "me" if low in _SUBJ_ME else "other"
        if low in _OBJ_ME and low not in {"mijn", "mn", "m'n", "my"}:
            found.append("harm_to=me")
        j -= 1
    # Inversion: "soms sla ik haar", "toen schopte ik".
    after = [t.lower_ for t in doc[i + 1:i + 3]]
    if subject is None and after and after[0] in _SUBJ_ME:
        subject = "me"
    if any(a in {"me", "mij", "ons"} for a in after):
        found.append("harm_to=me")
    reflexive = reflexive or any(a in REFLEXIVE_SELF for a in after)
    if subject == "me" and reflexive and not passive:
        # "dat ik mezelf iets aandoe", "i hurt myself": the writer at risk, not harming someone else.
        found.append("self_harm")
    elif subject == "me":
        found.append("harm_to=me" if passive else "harm_by=me")
    elif subject == "other":
        found.append("harm_by=other")
    return found


_LEXICON = frozenset().union(
    FIRST_SG_SUBJ, FIRST_OBJ, THIRD_PERSON, YOUTH_WORDS, TIME_NOW, TIME_RECENT, TIME_PAST, WORK_WORDS, SCHOOL_WORDS,
    HARM_VERBS, PROFESSIONS, _RELATION_OF,
)


FLOOR_ONLY_FLAGS = frozenset({"physical_violence"})
_LINKED_PRONOUNS = frozenset({"hij", "zij", "ze", "hem", "haar", "he", "she", "him", "her"})


def _finite_tenses(sents: list[Span]) -> list[str]:
    """The tenses of the finite verbs of these sentences, one entry per verb."""
    return [tense for sent in sents for t in sent if "Fin" in t.morph.get("VerbForm") for tense in t.morph.get("Tense")]


def _narrative_cues(sents: list[Span], end_tenses: list[str], story_time: bool, add) -> None:
    """How a longer message is built: the tense of its last sentences (which decide time: real messages
    tell the past first and end in the present) and whether a story about then (story_time: a past or
    recent time word before them) comes first."""
    if len(sents) < 3:
        return
    tenses = set(end_tenses)
    if "Pres" in tenses:
        add("end_tense=pres")
    if tenses == {"Past"}:
        add("end_tense=past")
    if any("?" in sent.text for sent in sents[-2:]):
        add("end_question")
    if story_time and "Pres" in tenses:
        add("story_then_present")


def told_in_past(end_tenses: list[str], now_said: bool) -> bool:
    """The message ends told in the past: its last two sentences (all, when it is shorter) hold at least two
    finite verbs in the past tense (end_tenses), at least twice as many as in the present (one mis-tagged
    verb must not decide), and no word for now (now_said). Testimonies and stories about then read like
    this; a message about danger now or within hours does not ("hij staat voor de deur", "hij heeft me net
    geslagen", "help")."""
    past, present = end_tenses.count("Past"), end_tenses.count("Pres")
    return past >= 2 and past >= 2 * present and not now_said


def extract_cues(doc: Doc) -> dict[str, float]:
    cues: dict[str, float] = {}

    def add(key: str, value: float = 1.0) -> None:
        cues[key] = max(cues.get(key, 0.0), value)

    # No length feature: a word count must not decide a role (real messages are long whatever the role).
    n = len(doc)
    # Time words decide time only in the last two sentences of a longer message: "nu" in the story part
    # ("nu ik erover nadenk", "sinds hij nu werk heeft") says nothing about danger at this moment.
    sents = list(doc.sents)
    story_end = sents[-2].start if len(sents) >= 3 else 0
    text = doc._.text if doc._.text is not None else doc.text
    if "?" in text:
        add("question")
    if _PROCEDURE.search(text):
        add("procedure_word")
    if _SELF_AGGRESSION.search(text):
        add("self_aggression")
    if _MINOR_CONTEXT.search(text):
        add("minor_context")
    if CHILDHOOD_RECALL.search(text):
        add("childhood_recall")

    has_first = has_third = False
    # The relation a third-person pronoun most likely refers to: the last "mijn man" / "haar vader"
    # mentioned before it (long messages name the person once, then say "hij").
    antecedent: str | None = None
    story_time = False
    for tok in doc:
        low, lemma = tok.lower_, tok.lemma_.lower()
        if low not in _LEXICON and lemma not in _LEXICON:
            continue  # most tokens: nothing below can fire
        if low in FIRST_SG_SUBJ or low in FIRST_OBJ:
            has_first = True
        if low in THIRD_PERSON:
            has_third = True
        if low in YOUTH_WORDS:
            add("youth_word")
        if is_now_word(tok):
            if tok.i >= story_end:
                add("time=now")
                if story_end:
                    add("end_time=now")
            else:
                add("time=now_in_story")
        elif low in TIME_RECENT or low in TIME_PAST:
            add("time=recent" if low in TIME_RECENT else "time=past")
            story_time = story_time or tok.i < story_end
        if low in WORK_WORDS or lemma in WORK_WORDS:
            add("work_word")
        if low in SCHOOL_WORDS:
            add("school_word")

        # Who does what to whom, and when (tense from the morphologizer).
        if lemma in HARM_VERBS or low in HARM_VERBS:
            for key in _surface_agency(doc, tok.i):
                add(key)
            for tense in tok.morph.get("Tense"):
                add(f"harm_tense={tense.lower()}")
            for child in tok.children:
                person = _person(child)
                if person is None:
                    continue
                mine = _relation(child) if person == "rel" and _possessor(child) == "1st" else (
                    antecedent if person == "3rd" and child.lower_ in _LINKED_PRONOUNS else None)
                if child.dep_ in ("nsubj", "csubj"):
                    add(f"harm_subj={person}")
                    if mine:
                        add(f"harm_subj=my_{mine}")
                elif child.dep_ in ("obj", "iobj", "nsubj:pass", "obl"):
                    add(f"harm_obj={person}")
                    if mine:
                        add(f"harm_obj=my_{mine}")

        # Relation nouns and whose they are.
        group = _relation(tok)
        if group and tok.pos_ in ("NOUN", "PROPN", "X", "ADJ", "VERB"):
            owner = _possessor(tok)
            if owner:
                add(f"poss{owner[0]}={group}")
                if owner == "1st":
                    antecedent = group

        # Work roles: "ik ben leerkracht", "als huisarts", "ik werk als", "vanuit de school".
        if low in PROFESSIONS or lemma in PROFESSIONS:
            window = {t.lower_ for t in doc[max(0, tok.i - 4):tok.i]}
            if window & {"ik", "wij", "we", "als", "werk", "werkzaam", "kben", "ben", "zijn", "vanuit",
                         "onze", "i'm", "am"}:
                add("self_profession")

    end_tenses = _finite_tenses(sents[-2:])
    _narrative_cues(sents, end_tenses, story_time, add)
    # "time=now" is set exactly when a word for now stands in the last two sentences (story_end above).
    if told_in_past(end_tenses, "time=now" in cues):
        add("told_in_past")
    if has_first:
        add("first_person")
    if has_third:
        add("third_person")
    if not has_first and not has_third and n <= 6:
        add("no_person_short")

    for age in _ages(text):
        bucket = _age_bucket(age)
        if bucket:
            add(f"age={bucket}")
    if _SCHOOL_YEAR.search(text):
        add("school_year")

    # The physical-violence flag is a floor only, not a feature: the harm cues above already read who hits
    # whom and when, and as a feature it made a story that ends in danger now look like one about then.
    flags = [f for f in (doc._.red_flags or ()) if f.cue not in FLOOR_ONLY_FLAGS]
    for flag in flags:
        add(f"flag={flag.cue}")
        add(f"flag_when={flag.when}")
    # Interactions a linear model cannot form itself: danger words told only about then.
    if "harm_tense=past" in cues and "harm_tense=pres" not in cues:
        add("harm_only_past")
    if flags and all(f.when in ("past", "recent") for f in flags):
        add("flags_not_now")
    return cues


@Language.factory("triage_cues")
class CueComponent:
    """Sets doc._.cues (feature name -> value). Runs after triage_red_flags."""

    def __init__(self, nlp: Language, name: str):
        pass

    def __call__(self, doc: Doc) -> Doc:
        doc._.text = doc.text
        doc._.cues = extract_cues(doc)
        return doc
