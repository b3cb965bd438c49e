"""Which targets a set is measured against, and how a target is judged (no model needed)."""

from training.evaluate import REAL_TARGETS, TARGETS, check_targets, targets_for


def _metrics(**urgency):
    base = {"macro_f1": 0.7, "acute_recall": 1.0, "acute_precision": 0.8, "acute_as_normal_or_low": 0,
            "severe_recall": 0.95, "share_called_acute": 0.02}
    return {"role": {"macro_f1": 0.8}, "minor": {"f1": 0.9, "recall": 1.0}, "urgency": {**base, **urgency}}


def test_real_text_has_its_own_targets():
    assert targets_for("real_dev") is REAL_TARGETS
    assert targets_for("../shared/eval/real_dev.jsonl") is REAL_TARGETS
    assert targets_for("challenge set") is TARGETS


def test_the_alarm_bound_is_an_upper_bound():
    # 2 of 39 called acute meets the bound; 3 of 39 does not.
    assert check_targets(_metrics(share_called_acute=round(2 / 39, 4)), REAL_TARGETS)["share_called_acute"]["met"]
    assert not check_targets(_metrics(share_called_acute=round(3 / 39, 4)), REAL_TARGETS)["share_called_acute"]["met"]


def test_severe_recall_and_minor_recall_are_lower_bounds():
    out = check_targets(_metrics(severe_recall=0.8), REAL_TARGETS)
    assert not out["severe_recall"]["met"] and out["minor_recall"]["met"]
    assert out["role_macro_f1"]["met"] and out["urgency_macro_f1"]["met"]
    assert not check_targets(_metrics(macro_f1=0.5), REAL_TARGETS)["urgency_macro_f1"]["met"]
