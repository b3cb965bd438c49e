"""Why the model decided what it did: the features that pushed each head most, in words."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.lang.nl.stop_words import STOP_WORDS as NL_STOP_WORDS

# Function words (and the pronouns "ik", "me", "hij"...) say nothing to an advisor on their own; who does
# what to whom is explained by the cues instead.
FUNCTION_WORDS = frozenset(NL_STOP_WORDS | EN_STOP_WORDS | {"mn", "m'n", "zn", "z'n", "k", "t", "'t", "s", "n"})

# Dutch descriptions of the linguistic cues (triage/cues.py), for advisors.
CUE_NL = {
    "harm_obj=1st": "de schrijver ondergaat geweld (ik/mij als lijdend voorwerp)",
    "harm_subj=1st": "de schrijver doet het geweld zelf (ik als onderwerp)",
    "harm_subj=3rd": "een ander doet het geweld",
    "harm_obj=3rd": "het geweld treft een ander",
    "harm_obj=rel": "het geweld treft een naaste",
    "harm_subj=rel": "een naaste doet het geweld",
    "self_profession": "de schrijver noemt een beroep",
    "self_aggression": "de schrijver beschrijft eigen agressie",
    "harm_by=me": "de schrijver doet het geweld zelf",
    "harm_to=me": "het geweld treft de schrijver",
    "harm_by=other": "een ander doet het geweld",
    "work_word": "woorden uit de werkcontext",
    "school_year": "een klas of schooljaar",
    "school_word": "woorden over school",
    "youth_word": "jongerentaal",
    "first_person": "schrijft in de ik-vorm",
    "third_person": "schrijft over een ander",
    "question": "stelt een vraag",
    "procedure_word": "vraag over werkwijze of melden",
    "no_person_short": "korte tekst zonder persoon",
    "time=now": "tijdswoord: nu",
    "time=recent": "tijdswoord: recent",
    "time=past": "tijdswoord: verleden",
    "minor_context": "regels van ouders of schoolleven (mogelijk minderjarig)",
    "childhood_recall": "vertelt over de eigen jeugd",
    "end_tense=pres": "eindigt in de tegenwoordige tijd",
    "end_tense=past": "eindigt in de verleden tijd",
    "told_in_past": "verteld in de verleden tijd, zonder woord voor nu",
    "end_time=now": "laatste zinnen gaan over nu",
    "end_question": "eindigt met een vraag",
    "story_then_present": "verhaal over vroeger, daarna het heden",
    "time=now_in_story": "tijdswoord nu, in het verhaal (niet aan het eind)",
    "harm_only_past": "geweld alleen in de verleden tijd",
    "flags_not_now": "rode vlaggen alleen uit het verleden of recent, niet nu",
}
_GROUP_NL = {"partner": "partner", "parent": "ouder", "child": "kind", "sibling": "broer of zus",
             "family": "familielid", "neighbour": "buren", "friend": "vriend(in)", "colleague": "collega",
             "client": "leerling/cliënt/patiënt"}


# When a red flag happened (RedFlag.when), in Dutch; also the labels of the pages (api/pages/routes.py).
WHEN_NL = {"now": "nu", "recent": "kort geleden", "past": "vroeger", "unspecified": "onbekend"}


@lru_cache(maxsize=65536)
def describe(feature: str) -> tuple[str, str]:
    """(kind, Dutch description) of an internal feature name such as 'lemma__wurgen'."""
    block, _, name = feature.partition("__")
    if block == "char":
        return "tekens", f'"{name.strip()}"'
    if block in ("word", "lemma"):  # lemma: models trained before the word block
        return "woord", f'"{name}"'
    if name in CUE_NL:
        return "signaal", CUE_NL[name]
    key, _, value = name.partition("=")
    if key in ("poss1", "poss3"):
        whose = "mijn" if key == "poss1" else "haar/zijn"
        return "signaal", f"{whose} {_GROUP_NL.get(value, value)}"
    if key == "harm_tense":
        return "signaal", {"past": "geweld in de verleden tijd", "pres": "geweld in de tegenwoordige tijd"}.get(value, name)
    if key.startswith("harm_"):
        who = value.removeprefix("my_")
        role = "pleger" if key == "harm_subj" else "slachtoffer"
        return "signaal", f"{role} is mijn {_GROUP_NL.get(who, who)}"
    if key == "age":
        return "signaal", f"leeftijd {value}"
    if key == "len":
        return "signaal", f"lengte {value} woorden"
    if key == "flag":
        from triage.red_flags import CUES

        return "signaal", f"rode vlag: {CUES[value][0] if value in CUES else value}"
    if key == "flag_when":
        return "signaal", f"rode vlag, tijd: {WHEN_NL.get(value, value)}"
    return "signaal", name


def top_features(indices: np.ndarray, contributions: np.ndarray, names: np.ndarray, k: int = 5) -> list[dict]:
    """The k readable features with the largest positive contribution (feature value x class weight).

    Character n-grams ("elp", "goe") and function words ("de", "dat ik") carry weight but mean nothing to a
    reader: they are left out of explanations."""
    if len(indices) == 0:
        return []
    out = []
    for j in np.argsort(-contributions):
        weight = float(contributions[j])
        if weight <= 0 or len(out) == k:
            break
        name = str(names[indices[j]])
        block, _, value = name.partition("__")
        if block == "char" or (block in ("word", "lemma") and all(w in FUNCTION_WORDS for w in value.split())):
            continue
        kind, text = describe(name)
        out.append({"feature": name, "kind": kind, "description_nl": text, "weight": round(weight, 4)})
    return out


_REASON_NL = {"role": "rol", "urgency": "urgentie", "minor": "minderjarig", "language": "taal"}


def reason_nl(reason: str) -> str:
    """A review reason (English, for machines: ReviewPolicy.reasons_for) in Dutch for the advisor."""
    head, _, rest = reason.partition(": ")
    label = _REASON_NL.get(head, head)
    number = rest[rest.find("(") + 1:rest.find(")")] if "(" in rest else ""
    if rest.startswith("low confidence"):
        return f"{label}: lage zekerheid ({number})"
    if rest.startswith("top two scores within"):
        return f"{label}: twee hoogste scores liggen dicht bij elkaar"
    if rest.startswith("uncertain"):
        return f"{label}: onzeker ({number})"
    if rest.startswith("not Dutch"):
        return f"{label}: niet Nederlands ({number})"
    if rest.startswith("raised by red flags"):
        return f"{label}: verhoogd door rode vlaggen boven de inschatting van het model"
    return reason


ROLE_NL = {"victim": "slachtoffer", "bystander": "omstander", "perpetrator": "pleger",
           "professional": "professional", "unknown": "onbekend"}
URGENCY_NL = {"acute": "acuut", "high": "hoog", "normal": "normaal", "low": "laag"}


def summary_nl(result: dict) -> str:
    """One Dutch sentence per decision, for the advisor."""
    exp = result["explanation"]

    def because(head: str) -> str:
        items = [f["description_nl"] for f in exp.get(head, [])[:3]]
        return f" (vooral: {', '.join(items)})" if items else ""

    parts = [
        f"Rol: {ROLE_NL[result['role']]} ({result['scores']['role'][result['role']]:.0%}){because('role')}.",
        f"Minderjarig: {'ja' if result['minor'] else 'nee'} ({result['scores']['minor']['true']:.0%} kans){because('minor')}.",
    ]
    urgency = f"Urgentie: {URGENCY_NL[result['urgency']]}"
    if exp.get("urgency_raised_by"):
        cues = ", ".join(f"{f['label_nl']} (\"{f['text']}\")" for f in result["red_flags"]
                         if f["cue"] in exp["urgency_raised_by"])
        urgency += f", verhoogd van {URGENCY_NL[exp['urgency_model']]} door rode vlaggen: {cues}"
    parts.append(urgency + because("urgency") + ".")
    if result["needs_review"]:
        parts.append("Controle nodig: " + "; ".join(map(reason_nl, result["review_reasons"])) + ".")
    return " ".join(parts)
