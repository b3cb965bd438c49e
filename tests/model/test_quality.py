"""Quality of the default model on data it never saw, through the prediction interface.

The targets (training/evaluate.py TARGETS) come from the model issue. Under-triaging danger is
the worst error: acute recall and "no acute opener predicted normal or low" are checked on both
sets.
"""

import pytest

from training.data import load_challenge, load_seed
from training.evaluate import TARGETS, evaluate

SETS = ["held-out test split", "challenge set"]


@pytest.fixture(scope="module")
def metrics(active_model):
    seed = load_seed()
    sets = {"held-out test split": [e for e in seed if e.split == "test"], "challenge set": load_challenge()}
    out = {}
    for name, examples in sets.items():
        predictions = active_model.predict([e.text for e in examples])
        out[name] = evaluate([e.labels() for e in examples], predictions)
    return out


@pytest.mark.parametrize("name", SETS)
def test_acute_recall(metrics, name):
    assert metrics[name]["urgency"]["acute_recall"] >= TARGETS["acute_recall"]


@pytest.mark.parametrize("name", SETS)
def test_no_acute_opener_predicted_normal_or_low(metrics, name):
    assert metrics[name]["urgency"]["acute_as_normal_or_low"] == 0


@pytest.mark.parametrize("name", SETS)
def test_urgency_macro_f1(metrics, name):
    assert metrics[name]["urgency"]["macro_f1"] >= TARGETS["urgency_macro_f1"]


@pytest.mark.parametrize("name", SETS)
def test_minor_f1(metrics, name):
    assert metrics[name]["minor"]["f1"] >= TARGETS["minor_f1"]


@pytest.mark.parametrize("name", SETS)
def test_role_macro_f1(metrics, name):
    assert metrics[name]["role"]["macro_f1"] >= TARGETS["role_macro_f1"]
