"""Deployment class priors and the correction of calibrated scores for the prior shift.

The corpus is built for learning (18 % acute, 19 % perpetrators), the chats that reach the helpline are
not. A calibrated classifier's scores carry the class priors it was fitted under; with balanced class
weights those are not even the corpus frequencies. Following Saerens, Latinne & Decaestecker (2002,
"Adjusting the outputs of a classifier to new a priori probabilities"), scores are re-weighted by
deployment prior / effective training prior and renormalised:

    p_dep(c | x)  ∝  q(c | x) · π_dep(c) / ρ(c)

ρ, the prior the scores implicitly assume, is estimated on out-of-fold scores of the training data as the
fixed point at which re-weighting to the training frequencies reproduces those frequencies on average
(the same condition Saerens et al. iterate with EM for unknown deployment priors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from triage.labels import ROLES, URGENCIES

# Estimates for the helpline's chat, not measurements: see docs/model.md ("Deployment priors") for the
# public figures and the reasoning behind each number. A setting (TRIAGE_DEPLOYMENT_PRIORS), recorded in
# the model's manifest at training time.
DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "urgency": {"acute": 0.05, "high": 0.25, "normal": 0.50, "low": 0.20},
    "role": {"victim": 0.45, "bystander": 0.30, "perpetrator": 0.05, "professional": 0.12, "unknown": 0.08},
}
CLASSES = {"urgency": URGENCIES, "role": ROLES}


def validate_priors(priors: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Complete (every head of DEFAULT_PRIORS present) and normalised priors; ValueError names the fault."""
    out: dict[str, dict[str, float]] = {}
    for head, classes in CLASSES.items():
        given = dict(priors.get(head, DEFAULT_PRIORS[head]))
        unknown = set(given) - set(classes)
        if unknown:
            raise ValueError(f"deployment priors for {head}: unknown class(es) {', '.join(sorted(unknown))}")
        missing = set(classes) - set(given)
        if missing:
            raise ValueError(f"deployment priors for {head}: missing class(es) {', '.join(sorted(missing))}")
        if any(not (0.0 < float(v) < 1.0) for v in given.values()):
            raise ValueError(f"deployment priors for {head}: every value must lie strictly between 0 and 1")
        total = sum(float(v) for v in given.values())
        if abs(total - 1.0) > 0.02:
            raise ValueError(f"deployment priors for {head}: values sum to {total:.3f}, not 1")
        out[head] = {c: float(given[c]) / total for c in classes}
    extra = set(priors) - set(CLASSES)
    if extra:
        raise ValueError(f"deployment priors: unknown head(s) {', '.join(sorted(extra))}")
    return out


def shift(proba: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Rows of proba re-weighted by ratio and renormalised."""
    weighted = proba * ratio
    return weighted / weighted.sum(axis=1, keepdims=True)


def implicit_prior(proba: np.ndarray, frequencies: np.ndarray, iterations: int = 200, tol: float = 1e-9) -> np.ndarray:
    """ρ such that shift(proba, frequencies / ρ) averages to frequencies (see the module docstring)."""
    if (frequencies <= 0).any():
        raise ValueError("no training examples of a class: its implicit prior cannot be estimated")
    rho = proba.mean(axis=0)
    for _ in range(iterations):
        mean = shift(proba, frequencies / rho).mean(axis=0)
        step = mean / frequencies
        rho = rho * step
        rho /= rho.sum()
        if np.max(np.abs(step - 1.0)) < tol:
            break
    return rho


@dataclass(frozen=True)
class PriorShift:
    """Per head: the class order of the scores and the factor π_dep / ρ for each class."""

    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ratios: dict[str, tuple[float, ...]] = field(default_factory=dict)
    deployment: dict[str, dict[str, float]] = field(default_factory=dict)
    implicit: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, oof: Mapping[str, tuple[np.ndarray, Sequence[str]]], gold: Mapping[str, Sequence[str]],
            priors: Mapping[str, Mapping[str, float]]) -> "PriorShift":
        """oof: head -> (out-of-fold scores, their class order); gold: head -> training labels."""
        priors = validate_priors(priors)
        classes, ratios, implicit = {}, {}, {}
        for head, (proba, order) in oof.items():
            order = tuple(str(c) for c in order)
            labels = np.asarray(gold[head]).astype(str)
            freq = np.array([(labels == c).mean() for c in order])
            rho = implicit_prior(np.asarray(proba, dtype=float), freq)
            dep = np.array([priors[head][c] for c in order])
            classes[head] = order
            ratios[head] = tuple(float(r) for r in dep / rho)
            implicit[head] = {c: round(float(r), 4) for c, r in zip(order, rho)}
        return cls(classes, ratios, {h: {c: round(v, 4) for c, v in p.items()} for h, p in priors.items()}, implicit)

    def apply(self, head: str, proba: np.ndarray, order: Sequence) -> np.ndarray:
        """Scores of one head (columns in `order`) corrected to the deployment priors."""
        if head not in self.ratios:
            return proba
        by_class = dict(zip(self.classes[head], self.ratios[head]))
        return shift(proba, np.array([by_class[str(c)] for c in order]))

    def to_dict(self) -> dict:
        return {"deployment_priors": self.deployment, "implicit_training_priors": self.implicit,
                "ratios": {h: dict(zip(self.classes[h], [round(r, 4) for r in self.ratios[h]])) for h in self.ratios}}
