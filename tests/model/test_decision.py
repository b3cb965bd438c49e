"""The urgency decision (triage/decision.py): thresholds, the guard, red-flag floors and the past-told cap."""

from triage.decision import UrgencyPolicy
from triage.red_flags import RedFlag

POLICY = UrgencyPolicy(acute_threshold=0.3, high_threshold=0.4, guard_threshold=0.1)


def scores(acute, high, normal, low):
    return {"acute": acute, "high": high, "normal": normal, "low": low}


def flag(when, floor):
    return RedFlag("weapon", "wapen", "mes", 0, 3, when, floor)


def test_thresholds_and_guard():
    assert POLICY.from_scores(scores(0.35, 0.2, 0.4, 0.05)) == "acute"
    assert POLICY.from_scores(scores(0.12, 0.05, 0.8, 0.03)) == "high"   # guard: a possible acute case
    assert POLICY.from_scores(scores(0.05, 0.36, 0.5, 0.09)) == "high"   # acute + high pass 0.4
    assert POLICY.from_scores(scores(0.01, 0.1, 0.3, 0.59)) == "low"
    assert POLICY.from_scores(scores(0.01, 0.1, 0.59, 0.3)) == "normal"


def test_a_flag_raises_to_its_floor_and_never_lowers():
    urgency, model, raised = POLICY.decide(scores(0.01, 0.1, 0.79, 0.1), [flag("now", "acute")])
    assert (urgency, model, [f.floor for f in raised]) == ("acute", "normal", ["acute"])
    urgency, model, raised = POLICY.decide(scores(0.5, 0.2, 0.2, 0.1), [flag("recent", "high")])
    assert (urgency, model, raised) == ("acute", "acute", [])


def test_a_message_told_in_the_past_is_high_at_most_by_its_scores():
    urgency, model, _ = POLICY.decide(scores(0.5, 0.2, 0.2, 0.1), [], now_possible=False)
    assert (urgency, model) == ("high", "high")
    # A red flag about now still makes it acute.
    urgency, model, raised = POLICY.decide(scores(0.5, 0.2, 0.2, 0.1), [flag("now", "acute")], now_possible=False)
    assert (urgency, model, len(raised)) == ("acute", "high", 1)
    # Nothing below acute is touched.
    assert POLICY.decide(scores(0.01, 0.1, 0.79, 0.1), [], now_possible=False)[0] == "normal"
