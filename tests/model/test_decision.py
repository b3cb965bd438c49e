"""The decision (triage/decision.py): urgency thresholds, the guard, red-flag floors and the past-told cap;
when a prediction goes to a person for review."""

import pytest

from triage.decision import ReviewPolicy, UrgencyPolicy
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


REVIEW = ReviewPolicy(min_confidence=0.5, min_margin=0.1, minor_band=(0.35, 0.65))


def review_scores(role=(0.8, 0.1, 0.1), urgency=(0.8, 0.1, 0.05, 0.05), minor=0.1):
    """Scores shaped like a prediction: confident everywhere unless a head is given."""
    return {"role": dict(zip(("victim", "witness", "perpetrator"), role)),
            "urgency": dict(zip(("acute", "high", "normal", "low"), urgency)),
            "minor": {"true": minor, "false": 1.0 - minor}}


def test_a_confident_dutch_prediction_needs_no_review():
    assert REVIEW.reasons_for(review_scores(), "nl", raised=False) == []


@pytest.mark.parametrize("head", ["role", "urgency"])
def test_low_confidence_is_reviewed(head):
    low = {"role": (0.45, 0.3, 0.25), "urgency": (0.45, 0.2, 0.2, 0.15)}[head]
    assert REVIEW.reasons_for(review_scores(**{head: low}), "nl", False) == [f"{head}: low confidence (0.45)"]
    # At the threshold the head is confident enough (>=), so only a real shortfall triggers review.
    at = {"role": (0.5, 0.3, 0.2), "urgency": (0.5, 0.3, 0.1, 0.1)}[head]
    assert REVIEW.reasons_for(review_scores(**{head: at}), "nl", False) == []


@pytest.mark.parametrize("head", ["role", "urgency"])
def test_close_top_two_is_reviewed(head):
    close = {"role": (0.52, 0.45, 0.03), "urgency": (0.03, 0.45, 0.52, 0.0)}[head]
    assert REVIEW.reasons_for(review_scores(**{head: close}), "nl", False) == [f"{head}: top two scores within 0.10"]
    apart = {"role": (0.6, 0.35, 0.05), "urgency": (0.05, 0.6, 0.35, 0.0)}[head]
    assert REVIEW.reasons_for(review_scores(**{head: apart}), "nl", False) == []
    # A margin of exactly min_margin is enough (binary fractions, so the difference is exact).
    edge = ReviewPolicy(min_margin=0.125)
    exact = {"role": (0.625, 0.5, 0.0), "urgency": (0.0, 0.625, 0.5, 0.0)}[head]
    assert edge.reasons_for(review_scores(**{head: exact}), "nl", False) == []


def test_low_confidence_is_the_one_reason_for_a_head_even_when_the_top_two_are_close():
    reasons = REVIEW.reasons_for(review_scores(role=(0.34, 0.33, 0.33)), "nl", False)
    assert reasons == ["role: low confidence (0.34)"]


@pytest.mark.parametrize("p_minor, reviewed", [(0.34, False), (0.35, True), (0.5, True), (0.65, True),
                                               (0.66, False), (0.0, False), (1.0, False)])
def test_minor_band_edges_are_inclusive(p_minor, reviewed):
    reasons = REVIEW.reasons_for(review_scores(minor=p_minor), "nl", False)
    assert reasons == ([f"minor: uncertain ({p_minor:.2f})"] if reviewed else [])


@pytest.mark.parametrize("language", ["en", "ar", "und", ""])
def test_a_message_not_in_dutch_is_reviewed(language):
    assert REVIEW.reasons_for(review_scores(), language, False) == [f"language: not Dutch ({language})"]


def test_urgency_raised_by_flags_is_reviewed():
    assert REVIEW.reasons_for(review_scores(), "nl", raised=True) == [
        "urgency: raised by red flags above the model's own estimate"]


def test_every_reason_is_reported_in_a_fixed_order():
    scores = review_scores(role=(0.4, 0.35, 0.25), urgency=(0.46, 0.44, 0.1, 0.0), minor=0.5)
    assert REVIEW.reasons_for(scores, "en", raised=True) == [
        "role: low confidence (0.40)", "urgency: low confidence (0.46)", "minor: uncertain (0.50)",
        "language: not Dutch (en)", "urgency: raised by red flags above the model's own estimate"]


def test_thresholds_come_from_the_policy_not_constants():
    strict = ReviewPolicy(min_confidence=0.9, min_margin=0.5, minor_band=(0.05, 0.95))
    reasons = strict.reasons_for(review_scores(role=(0.92, 0.05, 0.03), minor=0.1), "nl", False)
    assert reasons == ["urgency: low confidence (0.80)", "minor: uncertain (0.10)"]
    assert strict.reasons_for(review_scores(role=(0.92, 0.5, 0.0), urgency=(0.95, 0.0, 0.0, 0.05),
                                            minor=0.01), "nl", False) == ["role: top two scores within 0.50"]
