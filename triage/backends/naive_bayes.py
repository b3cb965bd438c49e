"""A second, small backend: multinomial naive Bayes over the linear backend's spaCy features, calibrated.

It shows the extension point (triage/backends/protocol.py) and trains in seconds; it is not meant to
replace the linear backend (no compiled inference path, and not tuned). Multiclass and binary heads
are one MultinomialNB each, multilabel heads one per class; every one is Platt-scaled on
out-of-fold scores (naive Bayes probabilities are far too confident), a class with too few
examples to calibrate gets its base rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import MultinomialNB

from triage.backends.protocol import Scored, label_matrix, refit_out_of_fold
from triage.explain import top_features
from triage.features import build_features
from triage.labels import EXPLAINED_HEADS, HEAD_REGISTRY


class NaiveBayesBackend(BaseEstimator):
    name: ClassVar[str] = "naive_bayes"

    def __init__(self, alpha: float = 0.1, cv: int = 3, random_state: int = 0):
        self.alpha = alpha
        self.cv = cv
        self.random_state = random_state

    def _calibrated(self, X, y):
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        return CalibratedClassifierCV(MultinomialNB(alpha=self.alpha), method="sigmoid", cv=folds,
                                      ensemble=False).fit(X, y)

    def fit(self, docs: Sequence, labels: Mapping[str, Sequence]) -> "NaiveBayesBackend":
        self.features_ = build_features()
        X = self.features_.fit_transform(docs)
        self.heads_, self.classes_ = {}, {}
        for head in HEAD_REGISTRY:
            y = labels[head.name]
            if head.kind == "multilabel":
                Y = label_matrix(y, head.classes)
                self.heads_[head.name] = [self._calibrated(X, Y[:, j]) if self.cv <= Y[:, j].sum() <= len(Y) - self.cv
                                          else (Y[:, j].sum() + 0.5) / (len(Y) + 1.0) for j in range(Y.shape[1])]
                self.classes_[head.name] = list(head.classes)
                continue
            model = self._calibrated(X, np.asarray(y, dtype=bool) if head.kind == "binary" else np.asarray(y))
            self.heads_[head.name] = model
            self.classes_[head.name] = [bool(c) if head.kind == "binary" else c for c in model.classes_]
            missing = set(head.classes) - set(self.classes_[head.name])
            if missing:
                raise ValueError(f"labels[{head.name!r}]: training data has no examples of "
                                 f"{', '.join(sorted(map(str, missing)))}")
        self.feature_names_ = np.asarray(self.features_.get_feature_names_out(), dtype=object)
        self.n_features_ = int(X.shape[1])
        return self

    def score(self, docs: Sequence) -> Scored:
        X = self.features_.transform(docs)
        proba = {}
        for head in HEAD_REGISTRY:
            model = self.heads_[head.name]
            if head.kind == "multilabel":
                proba[head.name] = np.column_stack([m.predict_proba(X)[:, 1] if hasattr(m, "predict_proba")
                                                    else np.full(X.shape[0], m) for m in model])
            else:
                proba[head.name] = model.predict_proba(X)
        return Scored(proba, X.tocsr())

    def predict_proba(self, docs: Sequence) -> dict[str, np.ndarray]:
        return self.score(docs).proba

    def explain(self, scored: Scored, i: int, labels: Mapping) -> dict[str, list[dict]]:
        # A feature's pull towards a class: its count times how much likelier it is under that class
        # than on average over the classes (the log-probabilities of the fitted naive Bayes).
        X = scored.state
        indices, values = X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]
        out = {}
        for head in EXPLAINED_HEADS:
            model = self.heads_[head]
            log_p = model.calibrated_classifiers_[0].estimator.feature_log_prob_
            k = list(model.classes_).index(labels[head])
            pull = log_p[k] - log_p.mean(axis=0)
            out[head] = top_features(indices, values * pull[indices], self.feature_names_)
        return out

    def out_of_fold_proba(self, docs, labels, splits, heads) -> dict[str, np.ndarray]:
        return refit_out_of_fold(self, docs, labels, splits, heads)

    def vocabulary(self) -> frozenset[str]:
        return frozenset()
