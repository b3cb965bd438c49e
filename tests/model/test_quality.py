"""Quality of the default model on data it never saw, through the prediction interface.

The targets (training/evaluate.py TARGETS) come from the model issue and the real-writing issue. Under-
triaging danger is the worst error: acute recall and "no acute opener predicted normal or low" are checked
on every set; acute precision beside recall, because an alarm that rings for a third of all chats is no
alarm. The held-out and challenge sets are written like the corpus; `real_dev` (real public texts, in
../shared when present, never trained on) is the check on real writing.
"""

import pytest

from training.data import REAL_DEV, held_out_sets, load_challenge, load_real_dev, load_seed
from training.evaluate import TARGETS, evaluate

WRITTEN = ["held-out test split", "challenge set"]


@pytest.fixture(scope="module")
def metrics(active_model):
    sets = {**held_out_sets(load_seed()), "challenge set": load_challenge()}
    if REAL_DEV.is_file():
        sets["real_dev"] = load_real_dev()
    out = {}
    for name, examples in sets.items():
        predictions = active_model.predict([e.text for e in examples])
        out[name] = evaluate([e.labels() for e in examples], predictions)
    return out


@pytest.fixture(scope="module")
def real_dev(metrics):
    if "real_dev" not in metrics:
        pytest.skip(f"{REAL_DEV} is not here (it is shared with developers and CI, not part of the repository)")
    return metrics["real_dev"]


@pytest.mark.parametrize("name", WRITTEN)
def test_acute_recall(metrics, name):
    assert metrics[name]["urgency"]["acute_recall"] >= TARGETS["acute_recall"]


@pytest.mark.parametrize("name", WRITTEN)
def test_acute_precision(metrics, name):
    assert metrics[name]["urgency"]["acute_precision"] >= TARGETS["acute_precision"]


@pytest.mark.parametrize("name", WRITTEN)
def test_no_acute_opener_predicted_normal_or_low(metrics, name):
    assert metrics[name]["urgency"]["acute_as_normal_or_low"] == 0


@pytest.mark.parametrize("name", WRITTEN)
def test_urgency_macro_f1(metrics, name):
    assert metrics[name]["urgency"]["macro_f1"] >= TARGETS["urgency_macro_f1"]


@pytest.mark.parametrize("name", WRITTEN)
def test_minor_f1(metrics, name):
    assert metrics[name]["minor"]["f1"] >= TARGETS["minor_f1"]


@pytest.mark.parametrize("name", WRITTEN)
def test_role_macro_f1(metrics, name):
    assert metrics[name]["role"]["macro_f1"] >= TARGETS["role_macro_f1"]


def test_real_writing_does_not_ring_the_alarm_for_every_chat(real_dev):
    # None of real_dev's openers is acute; the first model called a third of them acute. The target is
    # at most 2 of 39; this bound keeps the alarm from sliding back while that target is still open.
    assert real_dev["urgency"]["share_called_acute"] <= 0.15
