"""Explanations people can read: cues and whole words as typed, in Dutch; never character n-grams."""

import re

import pytest

from triage.explain import FUNCTION_WORDS, describe, reason_nl

TEXTS = [
    "help hij heeft me vannacht gewurgd en de kinderen sliepen boven",
    "Vorig jaar leerde ik mijn vriend kennen. Hij controleert mijn telefoon en ik mag niet naar mijn zus. "
    "Nu zegt hij dat ik gek ben. Overdrijf ik?",
    "I'm 15 and my stepdad hits me when my mum is at work",
    "ik ben juf in groep 5 en een leerling heeft blauwe plekken op haar armen",
]


@pytest.fixture(scope="module")
def predictions(active_model):
    return active_model.predict(TEXTS)


def test_explanations_show_cues_and_whole_words_only(predictions):
    for text, p in zip(TEXTS, predictions):
        lowered = text.lower()
        for head in ("role", "minor", "urgency"):
            for item in p["explanation"][head]:
                block, _, value = item["feature"].partition("__")
                assert block in ("word", "cue"), item  # no character n-grams
                if block == "word":
                    assert not all(w in FUNCTION_WORDS for w in value.split()), item
                    assert value in lowered, f"{value!r} is not what the writer typed"
                assert not re.search(r"[_=]", item["description_nl"]), item  # Dutch, no feature names


def test_every_cue_and_flag_has_a_dutch_description():
    from triage.red_flags import CUES

    names = [f"cue__flag={c}" for c in CUES] + [f"cue__flag_when={w}" for w in ("now", "recent", "past", "unspecified")]
    names += ["cue__minor_context", "cue__childhood_recall", "cue__end_tense=pres", "cue__story_then_present",
              "cue__time=now_in_story", "cue__harm_only_past", "cue__flags_not_now", "cue__harm_subj=my_partner"]
    for name in names:
        _, text = describe(name)
        assert not re.search(r"[_=]", text), (name, text)


def test_summary_and_review_reasons_are_dutch(predictions):
    assert reason_nl("role: low confidence (0.41)") == "rol: lage zekerheid (0.41)"
    assert reason_nl("language: not Dutch (en)") == "taal: niet Nederlands (en)"
    english = predictions[2]
    assert "language: not Dutch (en)" in english["review_reasons"]
    summary = english["explanation"]["summary_nl"]
    assert "Controle nodig" in summary and "niet Nederlands" in summary and "not Dutch" not in summary
