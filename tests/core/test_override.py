"""The override policy (triage/override.py) on plain dicts: the effective triage, merging a new
override with the one before it, and lapsing an override when a new message brings new danger."""

from datetime import datetime, timezone

import pytest

from triage.override import effective_triage, lapse_override, merge_override, new_red_flags, override_note, who

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def pred(urgency="normal", role="victim", minor=False, flags=(), needs_review=True):
    return {"urgency": urgency, "role": role, "minor": minor, "needs_review": needs_review,
            "red_flags": [{"cue": c, "when": w} for c, w in flags]}


# --- effective triage ----------------------------------------------------------------------------

def test_effective_triage_without_override_is_the_models():
    triage, overridden = effective_triage(pred("high", "bystander", True), None)
    assert triage == {"urgency": "high", "role": "bystander", "minor": True, "needs_review": True}
    assert overridden == []


def test_effective_triage_puts_only_the_overridden_fields_on_top():
    triage, overridden = effective_triage(pred("high", "victim", False), {"fields": {"urgency": "low", "minor": True}})
    assert triage == {"urgency": "low", "role": "victim", "minor": True, "needs_review": False}
    assert overridden == ["urgency", "minor"]


def test_an_override_without_fields_leaves_review_pending():
    triage, overridden = effective_triage(pred(), {"fields": {}})
    assert triage["needs_review"] is True and overridden == []


# --- merging and the summary note ---------------------------------------------------------------

def test_merge_carries_earlier_fields_and_takes_the_new_who_and_why():
    first = merge_override(None, {"urgency": "low"}, reason="vraag", advisor="key-a", name="Anouk", key="k1",
                           at=NOW, model_urgency="normal")
    assert first["fields"] == {"urgency": "low"} and first["at"] == "2026-03-01T12:00:00Z"
    second = merge_override(first, {"role": "bystander", "urgency": "high"}, reason="gezien", advisor="key-b",
                            name=None, key="k2", at=NOW, model_urgency="normal")
    assert second["fields"] == {"urgency": "high", "role": "bystander"}
    assert (second["reason"], second["advisor"], second["name"], second["key"]) == ("gezien", "key-b", None, "k2")
    assert first["fields"] == {"urgency": "low"}, "the earlier override is not changed in place"


def test_override_note_names_fields_who_and_why():
    note = override_note({"fields": {"urgency": "low", "role": "bystander", "minor": False},
                          "advisor": "key-a", "name": "Anouk", "reason": "vraag"})
    assert note == (" Aangepast door key-a (opgegeven naam: Anouk): urgentie laag, rol omstander, "
                    "niet minderjarig (reden: vraag).")
    assert override_note(None) == "" and override_note({"fields": {}}) == ""


@pytest.mark.parametrize("label, name, expected", [
    ("key-a", None, "key-a"), ("key-a", "key-a", "key-a"),
    ("key-a", "Anouk", "key-a (opgegeven naam: Anouk)"), (None, "Anouk", "Anouk (opgegeven naam)")])
def test_who(label, name, expected):
    assert who(label, name) == expected


# --- new red flags --------------------------------------------------------------------------------

def test_new_red_flags_are_new_cues_or_more_immediate_ones():
    assert new_red_flags(pred(), pred(flags=[("suicide", "now")])) == ["suicide"]
    assert new_red_flags(pred(flags=[("weapon", "past")]), pred(flags=[("weapon", "past")])) == []
    assert new_red_flags(pred(flags=[("weapon", "past")]), pred(flags=[("weapon", "now")])) == ["weapon"]
    assert new_red_flags(pred(flags=[("weapon", "now")]), pred(flags=[("weapon", "past")])) == []
    # A flag told without a time counts as "unspecified": more immediate than past, less than now.
    assert new_red_flags(pred(flags=[("weapon", "past")]), pred(flags=[("weapon", None)])) == ["weapon"]


# --- lapsing -------------------------------------------------------------------------------------

LOWER = {"fields": {"urgency": "normal", "role": "bystander"}, "advisor": "Bram", "reason": "x"}


@pytest.mark.parametrize("override", [None, {"fields": {}}])
def test_no_override_nothing_to_lapse(override):
    assert lapse_override(override, pred(), pred("acute", flags=[("suicide", "now")]), NOW) == (override, None)


def test_nothing_new_keeps_the_override():
    assert lapse_override(LOWER, pred(flags=[("weapon", "past")]), pred(flags=[("weapon", "past")]), NOW) \
        == (LOWER, None)


def test_model_urgency_rising_but_not_above_the_override_keeps_it():
    up = {"fields": {"urgency": "high"}}
    assert lapse_override(up, pred("low"), pred("normal"), NOW) == (up, None)


def test_new_red_flag_lapses_urgency_and_role():
    kept, lapse = lapse_override(LOWER, pred("normal"), pred("normal", flags=[("suicide", "now")]), NOW)
    assert kept is None
    assert lapse["fields"] == ["urgency", "role"] and lapse["new_red_flags"] == ["suicide"]
    assert lapse["alert"] == {"at": "2026-03-01T12:00:00Z", "kind": "override_lapsed", "text_nl":
                              "Nieuw gevaar: een nieuw bericht met rode vlag (suïciderisico); "
                              "de aanpassing van Bram is vervallen."}


def test_red_flag_becoming_more_immediate_lapses():
    kept, lapse = lapse_override(LOWER, pred(flags=[("weapon", "past")]), pred(flags=[("weapon", "now")]), NOW)
    assert kept is None and lapse["new_red_flags"] == ["weapon"]


def test_model_urgency_above_the_override_lapses_it():
    kept, lapse = lapse_override({"fields": {"urgency": "low"}}, pred("low"), pred("high"), NOW)
    assert kept is None and lapse["fields"] == ["urgency"] and lapse["new_red_flags"] == []
    assert "het model schat de chat nu hoog in, hoger dan de aanpassing (laag)" in lapse["alert"]["text_nl"]


def test_minor_found_where_the_advisor_said_adult():
    kept, lapse = lapse_override({"fields": {"minor": False}}, pred(), pred(minor=True), NOW)
    assert kept is None and lapse["fields"] == ["minor"]
    assert "het model ziet nu een minderjarige chatter" in lapse["alert"]["text_nl"]


def test_only_parts_that_make_the_chat_more_urgent_stay():
    mixed = {"fields": {"urgency": "acute", "minor": False, "role": "bystander"}, "advisor": "Bram"}
    kept, lapse = lapse_override(mixed, pred("high"), pred("high", flags=[("locked_in", "now")]), NOW)
    assert kept == {**mixed, "fields": {"urgency": "acute"}}
    assert lapse["fields"] == ["minor", "role"]
    assert mixed["fields"] == {"urgency": "acute", "minor": False, "role": "bystander"}, "input not changed"


def test_a_more_urgent_override_stays_and_the_alert_still_rings():
    up = {"fields": {"urgency": "acute", "minor": True}, "advisor": "Bram"}
    kept, lapse = lapse_override(up, pred("high"), pred("high", flags=[("locked_in", "now")]), NOW)
    assert kept == up and lapse["fields"] == []
    assert lapse["alert"]["text_nl"].endswith("de aanpassing van Bram blijft (die is al urgenter).")


def test_several_reasons_are_all_named():
    _, lapse = lapse_override({"fields": {"urgency": "low", "minor": False}}, pred("low"),
                              pred("acute", minor=True, flags=[("weapon", "now"), ("suicide", "now")]), NOW)
    text = lapse["alert"]["text_nl"]
    assert text.startswith("Nieuw gevaar: een nieuw bericht met rode vlaggen (suïciderisico, wapen) en ")
    assert "hoger dan de aanpassing (laag)" in text and "minderjarige chatter" in text
    assert text.endswith("; de aanpassing is vervallen.")
