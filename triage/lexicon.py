"""Dutch word lists behind the linguistic cues and red flags, read from one data file.

Entries are lower-case surface forms and lemmas; matching uses both because the lemmatizer does
not know chat spelling ("mn", "gewurgt"). Flemish and common English forms are included where
people write them. The lists live in triage/patterns/nl_en.json so that a cue (triage/cues.py) and a
red flag (triage/red_flags.py) read the same words: time=now and when=now cannot disagree.
"""

import json
import re
from functools import lru_cache
from pathlib import Path

PATTERNS_PATH = Path(__file__).parent / "patterns" / "nl_en.json"


@lru_cache(maxsize=4)
def load_patterns(path: Path = PATTERNS_PATH) -> dict:
    """The parsed pattern file (cached: the same dict, and so the same sets, for every reader)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"pattern file {path}: cannot be read as JSON ({exc})") from exc
    for key in ("words", "clause_breaks", "time", "flag_sets", "flags"):
        if key not in data:
            raise RuntimeError(f"pattern file {path}: section '{key}' is missing")
    return data


def word_set(words: list[str], named: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """A list of the pattern file as a lower-case set; "@NAME" includes the set NAME of `named`."""
    out: set[str] = set()
    for word in words:
        if word.startswith("@"):
            if not named or word[1:] not in named:
                raise RuntimeError(f"pattern file: '{word}' names no list defined before it")
            out |= named[word[1:]]
        else:
            out.add(word.lower())
    return frozenset(out)


_DATA = load_patterns()
_WORDS = {k: v for k, v in _DATA["words"].items() if isinstance(v, list)}
_TIME = _DATA["time"]

NEGATIONS = word_set(_WORDS["negations"])
FIRST_SG_SUBJ = word_set(_WORDS["first_sg_subj"])
FIRST_PL_SUBJ = word_set(_WORDS["first_pl_subj"])
FIRST_OBJ = word_set(_WORDS["first_obj"])
# The writer as the object of their own act ("ik doe mezelf iets aan"): self-harm, not harm done to others.
REFLEXIVE_SELF = word_set(_WORDS["reflexive_self"])
FIRST_POSS = word_set(_WORDS["first_poss"])
THIRD_PERSON = word_set(_WORDS["third_person"])
THIRD_POSS = word_set(_WORDS["third_poss"])
# English possessives are read only where the parse attaches them to the noun.
THIRD_POSS_PARSED = THIRD_POSS | word_set(_WORDS["third_poss_parsed_en"])
# Verbs (lemmas and frequent forms) that describe harm done to a person.
HARM_VERBS = word_set(_WORDS["harm_verbs"])
RELATION_GROUPS: dict[str, frozenset[str]] = {g: word_set(w) for g, w in _DATA["words"]["relations"].items()}
PROFESSIONS = word_set(_WORDS["professions"])
# Words that make a first-person sentence a work role: "ik werk als", "vanuit mijn werk".
WORK_WORDS = word_set(_WORDS["work_words"])
SCHOOL_WORDS = word_set(_WORDS["school_words"])
YOUTH_WORDS = word_set(_WORDS["youth_words"])

# Where a clause ends, for the cues and for the flags alike.
CLAUSE_BREAKS = word_set(_DATA["clause_breaks"])

# One list of words for now, read by the cue time=now and the flags' when=now.
TIME_NOW = word_set(_TIME["now"])
TIME_RECENT = word_set(_TIME["recent"])
TIME_PAST = word_set(_TIME["past"])
NET_NOT_NOW_AFTER = word_set(_TIME["net_not_now_after"])
FLAG_RECENT = word_set(_TIME["flag_recent"])
FLAG_HABITUAL = word_set(_TIME["flag_habitual"])
FLAG_PAST = word_set(_TIME["flag_past"])
FLAG_PAST_PHRASES = tuple(_TIME["flag_past_phrases"])


def is_now_word(tok) -> bool:
    """A time word for now, with "net" read in context: "net" means "just now" ("hij is net weg") but also
    "just like / just before / exactly" ("net als zijn vader", "net voor mijn voeten"); after the words of
    NET_NOT_NOW_AFTER, or in a clause told in the past, it is not a word for now."""
    low = tok.lower_
    if low != "net":
        return low in TIME_NOW
    nxt = tok.doc[tok.i + 1].lower_ if tok.i + 1 < len(tok.doc) else ""
    if nxt in NET_NOT_NOW_AFTER:
        return False
    head = tok.head
    return not ("Past" in head.morph.get("Tense") or any("Past" in c.morph.get("Tense") for c in head.children
                                                          if c.dep_.startswith("aux")))


# An adult telling of their childhood: what happened then is past, however the verbs are tensed.
CHILDHOOD_RECALL = re.compile(
    r"\b(?:toen\s+ik\s+(?:klein|kind|jong|nog\s+thuis|\d{1,2})|als\s+kind|in\s+mijn\s+jeugd|mijn\s+jeugd|"
    r"vroeger\s+thuis|opgegroeid|ik\s+ben\s+nu\s+\d{2}|inmiddels\s+\d{2}|jaren\s+later|"
    r"when\s+i\s+was\s+(?:a\s+)?(?:kid|child|little|young)|as\s+a\s+(?:kid|child)|growing\s+up)",
    re.I,
)
