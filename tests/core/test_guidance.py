"""Guidance cards (guidance/*.md) and their loading, validation and selection (triage/guidance.py)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from triage.guidance import RED_FLAGS, TOPIC_NL, Card, CardLibrary, GuidanceError, default_directory, load_cards
from triage.labels import ROLES, TOPICS, URGENCIES

REQUIRED = {
    "acuut-gevaar", "verwurging", "slachtoffer", "omstander", "pleger", "minderjarigen",
    "professional-meldcode", "ouderenmishandeling", "eergerelateerd-geweld", "seksueel-geweld",
    "stalking", "uitbuiting-loverboys", "suicidaliteit", "kind-alleen", "digitaal-geweld",
    "werkwijze-en-melden", "anderstalig",
}
# Every phone number a card may contain: public numbers that were checked. A typo in a number an
# advisor passes on to someone in danger is a serious error, so new numbers need adding here.
KNOWN_NUMBERS = {"112", "113", "0800-2000", "0800-0432", "0800-0188", "0900-0101", "0800-0113", "0800-7000"}


@pytest.fixture(scope="module")
def library() -> CardLibrary:
    return load_cards()


def ids(cards: list[dict]) -> list[str]:
    return [c["id"] for c in cards]


def prediction(role="victim", urgency="normal", minor=False, topics=(), flags=(), language="nl") -> dict:
    return {"role": role, "urgency": urgency, "minor": minor, "topics": list(topics), "language": language,
            "red_flags": [{"cue": f, "label_nl": RED_FLAGS[f], "text": "...", "start_char": 0, "end_char": 3,
                           "when": "now", "floor": "acute"} for f in flags]}


# ---------------------------------------------------------------------------------------------
# The real cards.


def test_real_cards_load(library):
    assert default_directory() == Path(__file__).resolve().parents[2] / "guidance"
    assert len(library.cards) >= len(REQUIRED)
    assert all(isinstance(c, Card) and c.body and c.title and c.source for c in library.cards)


def test_required_cards_exist(library):
    assert REQUIRED <= set(library.ids)


def test_safety_cards_are_pinned(library):
    for card_id in ("acuut-gevaar", "verwurging", "minderjarigen", "suicidaliteit", "kind-alleen"):
        assert library.get(card_id).pinned, card_id


def test_red_flag_names_match_the_red_flag_layer():
    from triage.red_flags import CUES  # needs spaCy; guidance.py itself does not

    assert RED_FLAGS == {cue: label for cue, (label, _, _) in CUES.items()}
    assert set(TOPIC_NL) == set(TOPICS)


def test_cards_only_contain_checked_phone_numbers(library):
    for card in library.cards:
        numbers = set(re.findall(r"\b0[89]00-\d{4}\b|\b11[23]\b", card.body))
        assert numbers <= KNOWN_NUMBERS, (card.id, numbers - KNOWN_NUMBERS)
    assert "0800-0432" in library.get("minderjarigen").body
    assert "0800-0188" in library.get("seksueel-geweld").body
    assert "112" in library.get("acuut-gevaar").body
    assert "0800-0113" in library.get("suicidaliteit").body


# ---------------------------------------------------------------------------------------------
# Selection.


def test_acute_victim_with_strangulation(library):
    pred = prediction("victim", "acute", topics=["physical"], flags=["strangulation", "happening_now"])
    cards = library.select(pred)
    assert ids(cards)[:2] == ["verwurging", "acuut-gevaar"]
    assert "slachtoffer" in ids(cards)
    reasons = {c["id"]: c["reason"] for c in cards}
    assert reasons["verwurging"] == "rode vlag: verwurging"
    assert reasons["acuut-gevaar"] == "urgentie: acuut"
    assert set(cards[0]) == {"id", "title", "body", "source", "reason"}


def test_minor_victim(library):
    cards = library.select(prediction("victim", "high", minor=True, topics=["physical", "child_abuse"]))
    assert ids(cards)[0] == "minderjarigen"
    assert "kindermishandeling" in ids(cards)
    assert "slachtoffer" not in ids(cards)  # that card is written for adults (opvang, huisverbod)


def test_professional_normal(library):
    cards = library.select(prediction("professional", "normal", topics=["child_abuse"]))
    assert ids(cards)[0] == "professional-meldcode"
    assert cards[0]["reason"] == "rol: professional"
    assert "kindermishandeling" in ids(cards)


def test_bystander_high_sexual(library):
    cards = library.select(prediction("bystander", "high", topics=["sexual"], flags=["sexual_violence"]))
    assert ids(cards)[:2] == ["seksueel-geweld", "omstander"]
    assert cards[0]["reason"] == "rode vlag: seksueel geweld; onderwerp: seksueel geweld"
    # The topic alone is enough, without the red flag.
    assert "seksueel-geweld" in ids(library.select(prediction("bystander", "high", topics=["sexual"])))


def test_unknown_low(library):
    assert ids(library.select(prediction("unknown", "low"))) == ["werkwijze-en-melden", "rol-onduidelijk"]


def test_perpetrator_normal(library):
    cards = library.select(prediction("perpetrator", "normal", topics=["physical"]))
    assert ids(cards) == ["pleger"]
    assert cards[0]["reason"] == "rol: pleger"


def test_non_dutch_writer(library):
    cards = library.select(prediction("victim", "normal", language="en"))
    assert ids(cards)[0] == "anderstalig"
    assert cards[0]["reason"] == "anderstalig (taal: en)"
    assert "anderstalig" not in ids(library.select(prediction("victim", "normal", language="nl")))


def test_topic_and_flag_cards(library):
    assert "suicidaliteit" in ids(library.select(prediction("victim", "high", flags=["hopelessness"])))
    assert "kind-alleen" in ids(library.select(prediction("bystander", "acute", flags=["child_alone"])))
    assert "ernstig-geweld-risico" in ids(library.select(prediction("victim", "high", flags=["weapon"])))
    for topic, card_id in [("elder_abuse", "ouderenmishandeling"), ("honour_related", "eergerelateerd-geweld"),
                           ("stalking", "stalking"), ("exploitation", "uitbuiting-loverboys"),
                           ("digital", "digitaal-geweld")]:
        assert card_id in ids(library.select(prediction("bystander", "normal", topics=[topic]))), topic


@pytest.mark.parametrize("role, urgency, minor, strangulation", list(itertools.product(
    ROLES, URGENCIES, (False, True), (False, True))))
def test_guarantees_for_every_combination(library, role, urgency, minor, strangulation):
    flags = ["strangulation"] if strangulation else []
    cards = ids(library.select(prediction(role, urgency, minor=minor, topics=["physical"], flags=flags)))
    assert ("acuut-gevaar" in cards) == (urgency == "acute")
    assert ("minderjarigen" in cards) == minor
    assert ("verwurging" in cards) == strangulation
    assert len(cards) <= 4


def test_pinned_cards_survive_a_small_limit(library):
    pred = prediction("victim", "acute", minor=True, flags=["strangulation", "suicide", "child_alone"])
    cards = ids(library.select(pred, limit=1))
    assert {"acuut-gevaar", "minderjarigen", "verwurging", "suicidaliteit", "kind-alleen"} == set(cards)


def test_limit_and_determinism(library):
    pred = prediction("victim", "high", topics=list(TOPICS), flags=["weapon", "threat_to_kill"])
    assert len(library.select(pred, limit=2)) == 2
    assert library.select(pred) == library.select(pred)
    assert ids(library.select(pred, limit=2)) == ids(library.select(pred))[:2]


def test_prediction_forms(library):
    # Plain cue names and missing keys are accepted; unknown labels are an error.
    plain = {"role": "victim", "urgency": "high", "red_flags": ["strangulation"]}
    assert "verwurging" in ids(library.select(plain))
    assert library.select({}) == []
    with pytest.raises(ValueError, match="role 'victum'"):
        library.select({"role": "victum"})
    with pytest.raises(ValueError, match="red flag 'knife'"):
        library.select({"red_flags": [{"cue": "knife"}]})
    with pytest.raises(ValueError):
        library.select({}, limit=-1)


# ---------------------------------------------------------------------------------------------
# Validation.

GOOD = """---
id: {id}
title: "Titel"
source: "Veilig Thuis"
applies_to:
  roles: [victim]
---
- Tekst.
"""


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def problems_for(directory: Path) -> list[str]:
    with pytest.raises(GuidanceError) as info:
        load_cards(directory)
    return info.value.problems


def test_valid_tmp_card(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a"))
    write(tmp_path, "README.md", "# not a card")
    library = load_cards(tmp_path)
    assert library.ids == ["a"]
    assert library.get("a").roles == ("victim",) and library.get("a").minor is None


def test_missing_field(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a").replace('title: "Titel"\n', ""))
    assert problems_for(tmp_path) == ["a.md: title: missing"]


def test_unknown_role(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a").replace("[victim]", "[victim, slachtoffer]"))
    [problem] = problems_for(tmp_path)
    assert problem.startswith("a.md: applies_to.roles: unknown value 'slachtoffer'")


def test_duplicate_id(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="same"))
    write(tmp_path, "b.md", GOOD.format(id="same"))
    assert problems_for(tmp_path) == ["b.md: id: duplicate id 'same' (also in a.md)"]


def test_bad_yaml(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a").replace("[victim]", "[victim"))
    [problem] = problems_for(tmp_path)
    assert problem.startswith("a.md: front matter: invalid YAML")


def test_every_problem_is_listed(tmp_path):
    write(tmp_path, "a.md", "---\nid: Not A Slug\ntitel: x\npriority: high\napplies_to:\n"
                            "  urgencies: [acute]\n  red_flags: [knife]\n  minor: maybe\n---\n\n")
    write(tmp_path, "b.md", "no front matter")
    write(tmp_path, "c.md", "---\n- a list\n---\nbody")
    write(tmp_path, "d.md", GOOD.format(id="d").replace("roles: [victim]", "roles: victim"))
    problems = problems_for(tmp_path)
    fields = [tuple(p.split(": ")[:2]) for p in problems]
    assert fields == [
        ("a.md", "titel"), ("a.md", "title"), ("a.md", "source"), ("a.md", "id"), ("a.md", "priority"),
        ("a.md", "body"), ("a.md", "applies_to.urgencies"), ("a.md", "applies_to.red_flags"),
        ("a.md", "applies_to.minor"),
        ("b.md", "front matter"), ("c.md", "front matter"), ("d.md", "applies_to.roles"),
    ]
    message = str(GuidanceError(problems))
    assert all(p in message for p in problems)


def test_types_are_strict_and_named(tmp_path):
    # YAML's own types count: true is no priority, "ja" is no boolean, a list is no applies_to.
    write(tmp_path, "a.md", GOOD.format(id="a").replace('source: "Veilig Thuis"\n', "source: VT\npriority: true\n"))
    write(tmp_path, "b.md", GOOD.format(id="b").replace("applies_to:\n  roles: [victim]", "pinned: 'ja'\napplies_to: [x]"))
    assert problems_for(tmp_path) == ["a.md: priority: input should be a valid integer, got True",
                                      "b.md: pinned: input should be a valid boolean, got 'ja'",
                                      "b.md: applies_to: must be a mapping, got list"]


def test_missing_or_empty_directory(tmp_path):
    assert "no guidance cards" in problems_for(tmp_path)[0]
    assert "no such directory" in problems_for(tmp_path / "nope")[0]
