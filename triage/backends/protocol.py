"""What a model backend is: the part of a triage model that turns parsed openers into per-head scores.

Everything around it (red flags, the urgency and review policies, deployment priors, the prediction
contract, the service) is the same for every backend, so a backend only has to implement this
protocol (docs/model.md, "Model backends"). The heads are those of triage.labels.HEAD_REGISTRY.

A backend is saved inside the model's joblib artifact (triage.artifacts.save_artifact) and loaded
only after that artifact's sha256 matched the manifest (load_verified): it must be picklable. A
backend with large weights keeps them in its pickled state (e.g. as bytes); the artifact's checksum
then covers them too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from triage.labels import HEAD_REGISTRY


@dataclass
class Scored:
    """Scores of a batch of openers: per head an array (openers x classes_[head] columns, calibrated
    probabilities) and whatever the backend needs to explain them afterwards (opaque to callers)."""

    proba: dict[str, np.ndarray]
    state: Any = None


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]  # the name in the backend registry and in the manifest
    classes_: dict[str, list]  # per head, the class of each column of its scores (after fit)
    n_features_: int  # the size of its feature space (recorded in the manifest)

    def fit(self, docs: Sequence, labels: Mapping[str, Sequence]) -> "Backend":
        """Fit every head of the registry. labels: head -> one target per doc (multiclass: the class,
        binary: a bool, multilabel: the list of its classes)."""

    def predict_proba(self, docs: Sequence) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, columns in classes_[head] order."""

    def score(self, docs: Sequence) -> Scored:
        """predict_proba and what explain() needs, in one pass over the batch (TriageModel's path)."""

    def explain(self, scored: Scored, i: int, labels: Mapping[str, Any]) -> dict[str, list[dict]]:
        """For opener i of a scored batch, per explained head (triage.labels.EXPLAINED_HEADS), the
        features that pushed most towards labels[head]: dicts with feature, kind, description_nl and
        weight (triage.explain.top_features). A backend that cannot explain returns [] per head."""

    def out_of_fold_proba(self, docs: Sequence, labels: Mapping[str, Sequence], splits: Sequence,
                          heads: Sequence[str]) -> dict[str, np.ndarray]:
        """Per head in heads, the probabilities of each training opener from a model fitted without
        its fold (splits: (train indices, test indices) pairs): training tunes the urgency policy and
        the deployment priors on them. `refit_out_of_fold` is the generic implementation."""

    def vocabulary(self) -> Collection[str]:
        """Words the backend's features know: spaCy's tokenizer cache is warmed with them (may be empty)."""


def refit_out_of_fold(backend, docs: Sequence, labels: Mapping[str, Sequence], splits: Sequence,
                      heads: Sequence[str]) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities by refitting a clone of the backend (same parameters, scikit-learn's
    clone) on each fold; columns in backend.classes_[head] order (0 for a class a fold never saw)."""
    from sklearn.base import clone

    out = {head: np.zeros((len(docs), len(backend.classes_[head]))) for head in heads}
    for train_idx, test_idx in splits:
        fold = clone(backend).fit([docs[i] for i in train_idx],
                                  {h.name: [labels[h.name][i] for i in train_idx] for h in HEAD_REGISTRY})
        proba = fold.predict_proba([docs[i] for i in test_idx])
        for head in heads:
            for k, c in enumerate(backend.classes_[head]):
                if c in fold.classes_[head]:
                    out[head][test_idx, k] = proba[head][:, fold.classes_[head].index(c)]
    return out


def label_matrix(label_lists: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """0/1 matrix of a multilabel head's targets, one column per class in `classes` order."""
    index = {c: i for i, c in enumerate(classes)}
    Y = np.zeros((len(label_lists), len(classes)), dtype=int)
    for row, labels in enumerate(label_lists):
        for c in labels:
            Y[row, index[c]] = 1
    return Y
