"""The prediction contract (triage/prediction.py): what the real model returns is a valid Prediction,
held as the label StrEnums, and the API publishes this very model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from triage.labels import Role, Topic, Urgency
from triage.prediction import Prediction, RedFlag

# Chosen to exercise every part of the contract: red flags with and without a floor, several topics,
# a minor, English (a review reason), a text told in the past.
TEXTS = [
    "hij heeft me net gewurgd en staat nu met een mes in de keuken, ik ben bang",
    "ik ben 14 en mn vader slaat mn moeder elke avond, ik durf niet naar huis",
    "my husband hits me and takes all my money, what can I do",
    "als docent maak ik me zorgen om een leerling, hoe meld ik dat?",
    "vroeger sloeg mijn ex mij, nu gaat het goed maar ik denk er nog vaak aan",
]


@pytest.fixture(scope="module")
def predictions(active_model):
    return active_model.predict(TEXTS)


def test_the_models_output_validates_and_round_trips(predictions):
    for raw in predictions:
        p = Prediction.model_validate(raw)
        # nothing the model returns is dropped or changed by the contract
        assert p.model_dump(mode="json") == raw
        assert isinstance(p.role, Role) and isinstance(p.urgency, Urgency)
        assert all(isinstance(t, Topic) for t in p.topics)
        assert all(f.floor is None or isinstance(f.floor, Urgency) for f in p.red_flags)
    # the texts reach the parts that are typed: flags with a floor, topics, a review reason
    assert any(f["floor"] for raw in predictions for f in raw["red_flags"])
    assert any(raw["topics"] for raw in predictions)
    assert any(raw["review_reasons"] for raw in predictions)


def test_a_label_outside_the_scheme_is_refused_naming_the_field(predictions):
    raw = predictions[0]
    for field, bad in (("role", "victim?"), ("urgency", "urgent"), ("topics", ["physical", "bullying"])):
        with pytest.raises(ValidationError) as err:
            Prediction.model_validate({**raw, field: bad})
        assert err.value.errors()[0]["loc"][0] == field
    flag = {**raw["red_flags"][0], "floor": "very high"}
    with pytest.raises(ValidationError) as err:
        RedFlag.model_validate(flag)
    assert err.value.errors()[0]["loc"] == ("floor",)


def test_the_api_publishes_the_core_models():
    from api import schemas

    assert schemas.Prediction is Prediction and schemas.RedFlag is RedFlag
    assert issubclass(schemas.TriageResponse, Prediction)
