"""The red-flag layer: a spaCy component that finds danger cues with spaCy's PhraseMatcher.

Each cue is a phrase pattern over lemmas or surface forms (chat spelling defeats the lemmatizer).
A cue that is negated ("hij heeft me nooit gewurgd", "hij heeft geen mes") does not fire. A cue
set in the past ("twee jaar geleden") gets a lower floor than one that is happening now.

Flags only ever raise urgency (see triage/decision.py): each flag carries the minimum urgency
("floor") it implies, depending on when it happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from triage.lexicon import (
    CHILDHOOD_RECALL, CLAUSE_BREAKS, FLAG_HABITUAL, FLAG_PAST, FLAG_PAST_PHRASES, FLAG_RECENT, NEGATIONS,
    TIME_NOW, is_now_word, load_patterns, word_set,
)

# ---------------------------------------------------------------------------------------------
# Pattern language: a list of word sets (a word or phrase, matched on LOWER or LEMMA) and gaps
# ("gap", n) of up to n arbitrary tokens. The patterns are data (triage/patterns/nl_en.json).


def _slot(slot, sets: dict[str, frozenset[str]]):
    """A pattern slot of the pattern file: a gap, the name of a flag set, or an inline word list."""
    if isinstance(slot, dict):
        return gap(int(slot["gap"]))
    if isinstance(slot, str):
        if slot not in sets:
            raise RuntimeError(f"pattern file: flag slot '{slot}' names no list of flag_sets")
        return sets[slot]
    return word_set(slot, sets)


def gap(n: int) -> tuple[str, int]:
    return ("gap", n)


def _flag_sets(data: dict) -> dict[str, frozenset[str]]:
    sets: dict[str, frozenset[str]] = {}
    for name, words in data["flag_sets"].items():
        sets[name] = word_set(words, sets)
    return sets


def _cues(data: dict, sets: dict[str, frozenset[str]]) -> dict:
    cues = {}
    for name, spec in data["flags"].items():
        floors = spec["floor"]
        cues[name] = (spec["label_nl"], (floors["now"], floors["recent"], floors["past"]),
                      [[_slot(slot, sets) for slot in pattern] for pattern in spec["patterns"]])
    return cues


_DATA = load_patterns()
FLAG_SETS = _flag_sets(_DATA)
# Read by the physical-violence logic below (a verb used as a noun).
HIT = FLAG_SETS["HIT"]

# name -> (Dutch label, floors for (now/unspecified, recent, past), patterns)
CUES: dict[str, tuple[str, tuple[str | None, str | None, str | None], list[list]]] = _cues(_DATA, FLAG_SETS)

# The tokens a negation may stand before a cue, without a clause boundary in between.
NEG_WINDOW = 3
CLAUSE_BREAK = CLAUSE_BREAKS
PAST_MARKERS = FLAG_PAST
PAST_PHRASES = FLAG_PAST_PHRASES
RECENT_MARKERS = FLAG_RECENT
HABITUAL_MARKERS = FLAG_HABITUAL
# The very list of the cue time=now (triage/lexicon.py): a cue and a flag cannot disagree on now.
NOW_MARKERS = TIME_NOW


@dataclass(frozen=True)
class RedFlag:
    cue: str
    label_nl: str
    text: str
    start_char: int
    end_char: int
    when: str          # now | recent | past | unspecified
    floor: str | None  # minimum urgency implied, None if none

    def to_dict(self) -> dict:
        # Explicit rather than dataclasses.asdict, which deep-copies and is slow on the hot path.
        return {"cue": self.cue, "label_nl": self.label_nl, "text": self.text, "start_char": self.start_char,
                "end_char": self.end_char, "when": self.when, "floor": self.floor}


class ConceptMatcher:
    """Finds the cue patterns in a Doc.

    Every word set is registered in two spaCy PhraseMatchers, one on LOWER (chat spelling and
    multi-word phrases such as "op slot") and one on LEMMA ("gewurgd" -> "wurgen"). A cue pattern is
    then a short sequence of word sets with bounded gaps, checked only where its first word set
    occurs. (spaCy's token Matcher with set predicates costs about 1 ms per opener here, as much as
    the whole parse; the PhraseMatchers cost a few microseconds.)
    """

    def __init__(self, vocab):
        self.sets: dict[frozenset[str], str] = {}
        self.lower = PhraseMatcher(vocab, attr="LOWER")
        self.lemma = PhraseMatcher(vocab, attr="LEMMA")
        self.patterns: list[tuple[str, list]] = []
        for cue, (_, _, patterns) in CUES.items():
            for pattern in patterns:
                slots = []
                for slot in pattern:
                    if isinstance(slot, tuple):
                        slots.append(slot)
                    else:
                        slots.append(self._register(slot, vocab))
                self.patterns.append((cue, slots))

    def _register(self, words: frozenset[str], vocab) -> str:
        key = self.sets.get(words)
        if key is None:
            key = f"set{len(self.sets)}"
            self.sets[words] = key
            tokenizer_docs = [Doc(vocab, words=w.split()) for w in sorted(words)]
            self.lower.add(key, tokenizer_docs)
            single = sorted(w for w in words if " " not in w)
            self.lemma.add(key, [Doc(vocab, words=[w], lemmas=[w]) for w in single])
        return key

    def __call__(self, doc: Doc) -> list[tuple[str, int, int, frozenset[int]]]:
        """(cue, start, end, token indices that filled gaps) for every pattern occurrence."""
        # hits[key][start] = end (exclusive) of the longest phrase of that set starting there
        hits: dict[str, dict[int, int]] = {}
        for matcher in (self.lower, self.lemma):
            for match_id, start, end in matcher(doc):
                by_start = hits.setdefault(doc.vocab.strings[match_id], {})
                by_start[start] = max(end, by_start.get(start, start))
        found = []
        for cue, slots in self.patterns:
            first = hits.get(slots[0])
            if not first:
                continue
            for start, end in first.items():
                done = self._extend(slots, 1, end, hits, len(doc), ())
                if done is not None:
                    stop, gaps = done
                    found.append((cue, start, stop, frozenset(gaps)))
        return found

    def _extend(self, slots, k, pos, hits, n, gaps):
        """(end, gap token indices) of the earliest completion of slots[k:] from token pos, or None."""
        if k == len(slots):
            return pos, gaps
        slot = slots[k]
        if isinstance(slot, tuple):
            for skip in range(slot[1] + 1):
                if pos + skip > n:
                    break
                done = self._extend(slots, k + 1, pos + skip, hits, n, gaps + tuple(range(pos, pos + skip)))
                if done is not None:
                    return done
            return None
        end = hits.get(slot, {}).get(pos)
        if end is None:
            return None
        return self._extend(slots, k + 1, end, hits, n, gaps)


def _is_negated(span: Span, gaps: frozenset[int] = frozenset()) -> bool:
    doc = span.doc
    # A negation that fills a gap of the pattern negates it ("ik wil niet dood"); one that is a
    # word of the pattern itself does not ("ik wil niet meer leven").
    if any(doc[i].lower_ in NEGATIONS for i in gaps):
        return True
    inside = set(range(span.start, span.end))
    # Negation attached in the parse to the cue or to the word it depends on, within the cue's clause: a
    # parse that hangs a later clause's "no" on the cue ("he locks me in ... and I have no key") must not
    # cancel it.
    clause = _clause(span)
    anchors = {span.root, span.root.head}
    for anchor in anchors:
        for child in anchor.children:
            if child.i not in inside and clause.start <= child.i < clause.end and child.lower_ in NEGATIONS:
                return True
    # Negation shortly before the cue in the same clause (robust to parse errors in chat text).
    i = span.start - 1
    steps = 0
    while i >= 0 and steps < NEG_WINDOW:
        tok = doc[i]
        if tok.lower_ in CLAUSE_BREAK:
            break
        if tok.lower_ in NEGATIONS:
            return True
        if tok.is_sent_start:
            break
        i -= 1
        steps += 1
    return False


def _clause(span: Span) -> Span:
    """The clause around a cue: from the previous clause break to the next one."""
    doc = span.doc
    start = span.start
    while start > 0 and doc[start - 1].lower_ not in CLAUSE_BREAK and not doc[start].is_sent_start:
        start -= 1
    end = span.end
    while end < len(doc) and doc[end].lower_ not in CLAUSE_BREAK and not doc[end].is_sent_start:
        end += 1
    return doc[start:end]


def _words(span: Span) -> set[str]:
    """The lower-case words of a span, without a "net" that does not mean "just now" ("net als")."""
    return {t.lower_ for t in span if t.lower_ != "net" or is_now_word(t)}


def _time_words(words: set[str], text: str, habit_first: bool = False) -> str | None:
    if any(p in text for p in PAST_PHRASES) or words & PAST_MARKERS:
        return "past"
    if habit_first and words & HABITUAL_MARKERS:
        return "recent"  # "nu slaat hij me soms": these days, not at this moment
    if words & NOW_MARKERS:
        return "now"
    if words & RECENT_MARKERS or words & HABITUAL_MARKERS:
        return "recent"
    return None


def _when(span: Span) -> str:
    return _when_and_source(span)[0]


def _when_and_source(span: Span) -> tuple[str, str]:
    """(now | recent | past | unspecified, "words" | "tense" | "none"): when, and whether time words or
    only the verb's tense told it.

    The cue's own clause decides first ("hij heeft me meerdere keren gewurgd, nu is het rustig" is
    habitual, not now), then its sentence. Repeated situations ("vaak", "elke week", "meerdere keren")
    without a word for now count as recent: serious, but not by themselves danger within hours. A verb
    in the simple past ("hij wurgde me") or the perfect ("hij heeft me gewurgd") tells of something that
    happened, unless the sentence says it is now.
    """
    clause = _clause(span)
    found = _time_words(_words(clause), clause.text.lower(), habit_first=True)
    if found:
        return found, "words"
    # The sentences the cue touches (the parser sometimes splits a sentence inside a cue).
    sent = span.doc[span[0].sent.start:span[-1].sent.end]
    found = _time_words(_words(sent), sent.text.lower())
    if found:
        return found, "words"
    verb = _governing_verb(span)
    if verb is None:
        return "unspecified", "none"
    auxiliaries = [t for t in verb.children if t.dep_.startswith("aux")]
    if "Past" in verb.morph.get("Tense") and not any("Pres" in t.morph.get("Tense") for t in auxiliaries):
        return "recent", "tense"
    if "Part" in verb.morph.get("VerbForm") and auxiliaries and _told_before_the_end(span, sent, verb, auxiliaries):
        return "recent", "tense"
    return "unspecified", "none"


def _governing_verb(span: Span):
    """The verb a cue belongs to: the cue itself, or up its heads ("ze gebruikte hamers, messen of een
    knuppel": "messen" hangs on "hamers", which hangs on "gebruikte"). None when no verb governs it."""
    tok = span.root
    for _ in range(4):
        if tok.pos_ in ("VERB", "AUX"):
            return tok
        if tok.head is tok:
            return None
        tok = tok.head
    return None


def _told_before_the_end(span: Span, sent: Span, verb, auxiliaries) -> bool:
    """A perfect tense ("hij heeft me gewurgd") in the story part of a longer message: told before its last two
    sentences (which decide time), not a passive or future, and no present-tense verb beside it ("... en staat
    nu in de keuken"). A short message in the perfect may be about just now and keeps its acute floor."""
    if any(t.lemma_.lower() in ("worden", "zullen", "gaan") for t in auxiliaries):
        return False
    if any("Pres" in t.morph.get("Tense") and "Fin" in t.morph.get("VerbForm") and t not in auxiliaries and t != verb
           for t in sent):
        return False
    last_two = [s.start for s in span.doc.sents][-2:]
    return len(last_two) == 2 and sent.start < last_two[0]


def _floor(cue: str, when: str) -> str | None:
    now_floor, recent_floor, past_floor = CUES[cue][1]
    if when == "past":
        return past_floor
    if when == "recent":
        return recent_floor
    return now_floor


def _negated_after(span: Span) -> bool:
    """A negation closing the clause after the verb: "ik sla mijn kinderen niet", "hits me? never"."""
    doc = span.doc
    for tok in doc[span.end:min(len(doc), span.end + 3)]:
        if tok.lower_ in CLAUSE_BREAK or tok.is_sent_start:
            return False
        if tok.lower_ in NEGATIONS:
            return True
    return False


def _as_topic(tok) -> bool:
    """A verb used as a noun: "het slaan van kinderen", "wat vinden jullie van slaan"."""
    if "Inf" not in tok.morph.get("VerbForm") and tok.lower_ != tok.lemma_.lower():
        return False
    nxt = tok.doc[tok.i + 1].lower_ if tok.i + 1 < len(tok.doc) else ""
    return (nxt == "van" or any(c.dep_ in ("det", "case") for c in tok.children)
            or tok.dep_ in ("nsubj", "nmod", "obj", "obl"))


# Words that end one act and begin another; "en" and "," also list the people of one act ("mij en mijn moeder").
_SPLITS_ACT = frozenset({".", "!", "?", ";", "maar", "but", "want", "omdat", "because", "terwijl", "dus"})


def _physical_violence(span: Span) -> tuple[str, str | None] | None:
    """when and floor of a physical-violence cue, or None when it is negated.

    The guide: recent or repeated physical violence is high, violence of the past is normal. Only words
    make it recent ("vorige week", "elke dag", "weer"); a story told in the simple past without them
    ("mijn vader sloeg ons"), or an adult telling of their childhood, is the past.
    """
    if _negated_after(span) or any(t.is_sent_start or t.lower_ in _SPLITS_ACT for t in span[1:]):
        # negated, or pieced together across two sentences ("... met deuren slaat. Onze kinderen") or two
        # clauses that a contrast or a reason joins ("of dit ergens op slaat maar mijn vrouw ...")
        return None
    if any(_as_topic(t) for t in span if t.lower_ in HIT or t.lemma_.lower() in HIT):
        return None  # "is het slaan van kinderen verboden?": a question about a topic, not an act
    when, source = _when_and_source(span)
    if when != "now" and CHILDHOOD_RECALL.search(span.doc.text):
        when = "past"
    elif when == "recent" and source == "tense":
        when = "past"
    return when, _floor("physical_violence", when)


def find_red_flags(doc: Doc, matcher: ConceptMatcher) -> list[RedFlag]:
    matches = [(Span(doc, start, end, label=cue), gaps) for cue, start, end, gaps in matcher(doc)]
    flags: list[RedFlag] = []
    seen: set[tuple[str, int]] = set()
    # Shortest spans first: a pattern with gaps may stretch over an unrelated negation.
    for span, gaps in sorted(matches, key=lambda m: (m[0].start, len(m[0]))):
        cue = span.label_
        if (cue, span.start) in seen or _is_negated(span, gaps):
            continue
        seen.add((cue, span.start))
        if cue == "physical_violence":
            judged = _physical_violence(span)
            if judged is None:
                continue
            when, floor = judged
        else:
            when = _when(span)
            floor = _floor(cue, when)
        flags.append(RedFlag(cue, CUES[cue][0], span.text, span.start_char, span.end_char, when, floor))
    # One flag per cue and character range; keep the earliest, shortest.
    unique: list[RedFlag] = []
    covered: dict[str, list[tuple[int, int]]] = {}
    for flag in flags:
        ranges = covered.setdefault(flag.cue, [])
        if any(s <= flag.start_char < e or flag.start_char <= s < flag.end_char for s, e in ranges):
            continue
        ranges.append((flag.start_char, flag.end_char))
        unique.append(flag)
    return unique


if not Doc.has_extension("red_flags"):
    Doc.set_extension("red_flags", default=None)


@Language.factory("triage_red_flags")
class RedFlagComponent:
    """Sets doc._.red_flags to a list of RedFlag."""

    def __init__(self, nlp: Language, name: str):
        self.matcher = ConceptMatcher(nlp.vocab)

    def __call__(self, doc: Doc) -> Doc:
        doc._.red_flags = find_red_flags(doc, self.matcher)
        return doc
