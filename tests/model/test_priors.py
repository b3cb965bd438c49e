"""Deployment priors: the correction of calibrated scores for the prior shift, and the alert budget."""

import numpy as np
import pytest

from triage.priors import DEFAULT_PRIORS, PriorShift, implicit_prior, shift, validate_priors
from training.tuning import decide_ranks, deployment_weights, tune_urgency_policy


def synthetic(n=4000, seed=0, p=(0.2, 0.3, 0.5)):
    """Scores of a classifier calibrated on a corpus with the class frequencies p."""
    rng = np.random.default_rng(seed)
    k = len(p)
    y = rng.choice(k, size=n, p=list(p))
    logits = rng.normal(0, 1, size=(n, k)) + 2.0 * np.eye(k)[y]
    q = np.exp(logits)
    return q / q.sum(axis=1, keepdims=True), y


def test_shift_renormalises():
    q, _ = synthetic(50)
    p = shift(q, np.array([0.1, 1.0, 3.0]))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p[:, 0] < q[:, 0]).all() and (p[:, 2] > q[:, 2]).all()


def test_implicit_prior_reproduces_the_training_frequencies():
    q, y = synthetic()
    freq = np.bincount(y, minlength=3) / len(y)
    rho = implicit_prior(q, freq)
    assert np.allclose(shift(q, freq / rho).mean(axis=0), freq, atol=1e-6)


def test_correcting_to_a_rarer_class_lowers_its_share_as_bayes_says():
    q4, y = synthetic(p=(0.2, 0.3, 0.3, 0.2))
    order = ["acute", "high", "normal", "low"]
    gold = np.array(order)[y]
    ps = PriorShift.fit({"urgency": (q4, order)}, {"urgency": gold}, {"urgency": DEFAULT_PRIORS["urgency"]})
    corrected = ps.apply("urgency", q4, order)
    assert np.allclose(corrected.sum(axis=1), 1.0)
    assert corrected[:, 0].mean() < 0.5 * q4[:, 0].mean()
    # On chats drawn at the deployment priors (acute 5 %, not the corpus's 20 %), the corrected scores
    # are (nearly: the synthetic scores are not perfectly calibrated) calibrated again: their mean for each
    # class is that class's share.
    rng = np.random.default_rng(7)
    want = np.array([DEFAULT_PRIORS["urgency"][c] for c in order])
    draw = np.concatenate([rng.choice(np.flatnonzero(y == k), size=int(20000 * w)) for k, w in enumerate(want)])
    assert np.allclose(corrected[draw].mean(axis=0), want, atol=0.03)
    assert not np.allclose(q4[draw].mean(axis=0), want, atol=0.08)  # the uncorrected scores are far off
    # The caller's column order is respected.
    reordered = ps.apply("urgency", q4[:, ::-1], order[::-1])
    assert np.allclose(reordered[:, ::-1], corrected)


def test_validate_priors_names_the_fault():
    assert validate_priors({})["urgency"] == DEFAULT_PRIORS["urgency"]
    with pytest.raises(ValueError, match="urgency: missing class"):
        validate_priors({"urgency": {"acute": 0.5, "high": 0.5}})
    with pytest.raises(ValueError, match="role: unknown class"):
        validate_priors({"role": {**DEFAULT_PRIORS["role"], "witness": 0.1}})
    with pytest.raises(ValueError, match="sum to"):
        validate_priors({"urgency": {"acute": 0.5, "high": 0.5, "normal": 0.5, "low": 0.5}})
    with pytest.raises(ValueError, match="no training examples"):
        implicit_prior(np.full((3, 2), 0.5), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        validate_priors({"urgency": {"acute": 0.0, "high": 0.3, "normal": 0.5, "low": 0.2}})


def test_settings_read_priors_from_the_environment(monkeypatch):
    from triage.settings import Settings

    monkeypatch.setenv("TRIAGE_DEPLOYMENT_PRIORS", '{"urgency": {"acute": 0.1, "high": 0.3, "normal": 0.4, "low": 0.2}}')
    settings = Settings()
    assert settings.deployment_priors["urgency"]["acute"] == pytest.approx(0.1)
    assert settings.deployment_priors["role"] == DEFAULT_PRIORS["role"]
    monkeypatch.setenv("TRIAGE_DEPLOYMENT_PRIORS", '{"urgency": {"acute": 0.1}}')
    with pytest.raises(ValueError, match="missing class"):
        Settings()


def test_tuning_keeps_recall_and_respects_the_alert_budget():
    rng = np.random.default_rng(1)
    n = 3000
    gold_rank = rng.choice(4, size=n, p=[0.18, 0.3, 0.35, 0.17])
    p_acute = np.clip(np.where(gold_rank == 0, rng.beta(5, 2, n), rng.beta(1, 8, n)), 1e-4, 1 - 1e-4)
    rest = (1 - p_acute)[:, None] * np.eye(3)[np.clip(gold_rank - 1, 0, 2)] * 0.7 + (1 - p_acute)[:, None] * 0.1
    proba = np.column_stack([p_acute, rest])
    proba /= proba.sum(axis=1, keepdims=True)
    gold = np.array(["acute", "high", "normal", "low"])[gold_rank]
    floors = np.full(n, 4)
    weights = deployment_weights(gold, DEFAULT_PRIORS["urgency"])
    loose, _ = tune_urgency_policy(proba, floors, gold, weights=weights, alert_budget=1.0)
    tight, summary = tune_urgency_policy(proba, floors, gold, weights=weights, alert_budget=0.06)
    assert summary["oof_acute_recall"] >= summary["acute_recall_target"]
    ranks = decide_ranks(proba, floors, tight.acute_threshold, tight.high_threshold, tight.guard_threshold)
    share = weights[ranks == 0].sum() / weights.sum()
    assert share == pytest.approx(summary["oof_share_acute_at_deployment_priors"], abs=1e-3)
    assert share <= 0.06 or summary["oof_acute_recall"] < 0.96  # the budget holds unless recall needs more
    assert tight.acute_threshold >= loose.acute_threshold or share <= 0.06


def test_a_message_told_in_the_past_is_never_acute_by_its_scores():
    proba = np.array([[0.6, 0.2, 0.15, 0.05], [0.6, 0.2, 0.15, 0.05], [0.6, 0.2, 0.15, 0.05]])
    floors = np.array([4, 4, 0])  # the third has a red flag about now
    ranks = decide_ranks(proba, floors, 0.3, 0.4, 0.1, now_possible=np.array([True, False, False]))
    assert ranks.tolist() == [0, 1, 0]
