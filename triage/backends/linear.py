"""The linear backend: one shared feature space, one calibrated linear head per label.

Heads share features because all read the same opener; fitting them separately on the same
matrix costs one featurisation instead of one per head. Inference goes through compiled paths
(triage.features.CompiledFeatures, CompiledHeads below), checked equal to scikit-learn's.

Artifacts saved before backends existed pickled these classes as triage.estimator.*; that module
re-exports them, so those artifacts still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from triage.backends.protocol import Scored, label_matrix, refit_out_of_fold
from triage.explain import top_features
from triage.features import CompiledFeatures, build_features
from triage.labels import (EXPLAINED_HEADS, HEAD_BY_NAME, HEAD_REGISTRY, HEADS, MULTILABEL_HEADS, SINGLE_LABEL_HEADS,
                           TOPICS, Head)


class CalibratedMultiLabel(ClassifierMixin, BaseEstimator):
    """One logistic regression per label with Platt scaling fitted on out-of-fold scores.

    Equivalent to OneVsRestClassifier(CalibratedClassifierCV(LogisticRegression, ensemble=False)),
    but the fitted weights are stacked into one matrix so that predicting all labels is a single
    sparse product (OneVsRest loops over the labels, ~12x the per-opener cost).
    """

    def __init__(self, C: float = 4.0, cv: int = 5, random_state: int = 0):
        self.C = C
        self.cv = cv
        self.random_state = random_state

    def __sklearn_tags__(self):
        # Y is a 0/1 matrix, one column per label: declared so scikit-learn's estimator checks pass 2-D targets.
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, Y):
        X, Y = validate_data(self, X, Y, accept_sparse="csr", multi_output=True, y_numeric=True)
        if not np.isin(Y, (0, 1)).all():  # a cast to int would silently turn 0.7 into 0 and 2 into a positive
            raise ValueError(f"Y: Unknown label type: {type_of_target(Y)}. Only binary classification is supported. "
                             "Y must be a 0/1 matrix with one column per label")
        Y = np.asarray(Y, dtype=int)
        n_labels = Y.shape[1]
        self.coef_ = np.zeros((n_labels, X.shape[1]), dtype=np.float64)
        self.intercept_ = np.zeros(n_labels)
        self.platt_a_ = np.ones(n_labels)
        self.platt_b_ = np.zeros(n_labels)
        self.prior_only_ = np.zeros(n_labels, dtype=bool)
        base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000)
        for j in range(n_labels):
            y = Y[:, j]
            positives = int(y.sum())
            if positives < self.cv or positives > len(y) - self.cv:
                # Too few examples to learn and calibrate: predict the base rate.
                self.prior_only_[j] = True
                rate = (positives + 0.5) / (len(y) + 1.0)
                self.platt_b_[j] = np.log(rate / (1 - rate))
                self.platt_a_[j] = 0.0
                continue
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            scores = cross_val_predict(clone(base), X, y, cv=folds, method="decision_function")
            platt = LogisticRegression(C=1e4).fit(scores.reshape(-1, 1), y)
            self.platt_a_[j] = platt.coef_[0, 0]
            self.platt_b_[j] = platt.intercept_[0]
            full = clone(base).fit(X, y)
            self.coef_[j] = full.coef_[0]
            self.intercept_[j] = full.intercept_[0]
        self.classes_ = np.arange(n_labels)
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        check_is_fitted(self)
        z = self.platt_a_ * self.decision_function(X) + self.platt_b_
        return 1.0 / (1.0 + np.exp(-z))

    def predict(self, X):
        return (self.predict_proba(X) >= 0.5).astype(int)


def _calibrated(C: float, method: str, cv: int, random_state: int) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(
        LogisticRegression(C=C, class_weight="balanced", max_iter=3000),
        method=method,
        cv=StratifiedKFold(cv, shuffle=True, random_state=random_state),
        ensemble=False,
    )


def _fit_head(head: Head, C: float, cv: int, random_state: int, X, y):
    """One calibrated linear head of the kind and calibration the registry declares."""
    if head.kind == "multilabel":
        return CalibratedMultiLabel(C, cv, random_state).fit(X, label_matrix(y, head.classes))
    y = np.asarray(y, dtype=bool) if head.kind == "binary" else np.asarray(y)
    return _calibrated(C, head.calibration, cv, random_state).fit(X, y)


class LinearBackend(BaseEstimator):
    """fit(docs, labels) / predict_proba(docs) / predict(docs) over the heads of the registry.

    `labels` maps each head to its targets: multiclass heads (role, urgency) as strings, binary ones
    (minor) as bools, multilabel ones (topics) as lists of class names. predict_proba returns a dict
    of arrays with columns in the order of `classes_[head]`. Each head's regularisation is the
    parameter C_<head> (scikit-learn parameters are named in __init__, so a new head adds one).
    Implements triage.backends.protocol.Backend.
    """

    name: ClassVar[str] = "linear"

    # C values chosen by 5-fold cross-validation on the seed training split (not the test split).
    def __init__(self, C_role: float = 24.0, C_minor: float = 16.0, C_urgency: float = 16.0,
                 C_topics: float = 8.0, cv: int = 5, random_state: int = 0):
        self.C_role = C_role
        self.C_minor = C_minor
        self.C_urgency = C_urgency
        self.C_topics = C_topics
        self.cv = cv
        self.random_state = random_state

    def fit(self, docs: Sequence, labels: Mapping[str, Sequence]):
        return self.fit_features(self.fit_feature_matrix(docs), labels)

    def fit_feature_matrix(self, docs: Sequence):
        """Fit the feature union and return the training matrix (reused for tuning by training/)."""
        self.features_ = build_features()
        X = self.features_.fit_transform(docs)
        for _, pipeline in self.features_.transformer_list:
            # The terms cut by min_df are only kept for introspection and can be most of the artifact.
            if hasattr(pipeline.steps[-1][1], "stop_words_"):
                del pipeline.steps[-1][1].stop_words_
        return X

    def fit_features(self, X, labels: Mapping[str, Sequence]):
        """Fit the heads on an already featurised matrix (from self.features_)."""
        self.heads_ = {head.name: _fit_head(head, getattr(self, f"C_{head.name}"), self.cv, self.random_state, X,
                                            labels[head.name])
                       for head in HEAD_REGISTRY}
        self.classes_ = {head.name: _fitted_classes(head, self.heads_[head.name]) for head in HEAD_REGISTRY}
        missing = set().union(*(set(head.classes) - set(self.classes_[head.name])
                                for head in HEAD_REGISTRY if head.kind == "multiclass"))
        if missing:
            raise ValueError(f"training data has no examples of: {', '.join(sorted(missing))}")
        self.feature_names_ = self.features_.get_feature_names_out()
        self.compiled_ = CompiledHeads.from_heads(self.heads_)
        self.compiled_features_ = CompiledFeatures(self.features_)
        # Kept (not saved) for out_of_fold_proba: the folds reuse the training matrix.
        self._train_matrix = X
        self._explain_cache = None
        return self

    # Derived from the fitted model by the code that runs, never stored: the compiled feature path
    # (an artifact saved by an earlier version keeps working when that path changes), the training
    # matrix and the explanation weights.
    _TRANSIENT = ("compiled_features_", "_train_matrix", "_explain_cache")

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns the live __dict__
        for key in self._TRANSIENT:
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        for key in self._TRANSIENT:
            state.pop(key, None)
        super().__setstate__(state)
        self._explain_cache = None
        if "features_" in state:
            self.compiled_features_ = CompiledFeatures(self.features_)
            self._explanation_weights()  # at load, so that no first request pays for it

    @property
    def n_features_(self) -> int:
        return len(self.feature_names_)

    def transform(self, docs):
        """The feature matrix (CSR): self.features_.transform through the compiled path."""
        check_is_fitted(self, "heads_")
        return self.compiled_features_.transform(docs)

    def predict_proba_features(self, X) -> dict[str, np.ndarray]:
        """Calibrated probabilities of every head, through the compiled heads (one product)."""
        return self.compiled_.predict_proba(X)

    def predict_proba_sklearn(self, X) -> dict[str, np.ndarray]:
        """The same probabilities through each fitted scikit-learn head (reference path)."""
        return {head: model.predict_proba(X) for head, model in self.heads_.items()}

    def predict_proba(self, docs) -> dict[str, np.ndarray]:
        return self.predict_proba_features(self.transform(docs))

    def score(self, docs) -> Scored:
        """Probabilities and the feature matrix (CSR) the explanations read, from one featurisation."""
        X = self.transform(docs)
        return Scored(self.predict_proba_features(X), X)

    def explain(self, scored: Scored, i: int, labels: Mapping) -> dict[str, list[dict]]:
        """Per explained head, opener i's features with the largest contribution (value x the
        class weight) towards labels[head]: one gather over all explained heads."""
        X = scored.state
        indices, values = X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]
        names, columns_of, weights = self._explanation_weights()
        columns = [columns_of[head][labels[head]] for head in EXPLAINED_HEADS]
        contrib = weights[indices][:, columns] * values[:, None]
        return {head: top_features(indices, contrib[:, k], names) for k, head in enumerate(EXPLAINED_HEADS)}

    def _explanation_weights(self) -> tuple[np.ndarray, dict[str, dict], np.ndarray]:
        """(feature names, head -> class -> column, one matrix of the explained heads' class weights)."""
        if getattr(self, "_explain_cache", None) is None:
            columns_of: dict[str, dict] = {}
            blocks, start = [], 0
            for head in EXPLAINED_HEADS:
                weights, classes = self.linear_weights(head)
                blocks.append(weights)
                columns_of[head] = {c.item() if hasattr(c, "item") else c: start + k for k, c in enumerate(classes)}
                start += weights.shape[1]
            self._explain_cache = (np.asarray(self.feature_names_, dtype=object), columns_of,
                                   np.ascontiguousarray(np.hstack(blocks)))
        return self._explain_cache

    def out_of_fold_proba(self, docs, labels, splits, heads) -> dict[str, np.ndarray]:
        """Temperature-scaled heads: the head's linear model refitted per fold on the training matrix
        and its fitted temperature applied to the out-of-fold logits (the calibration
        CalibratedClassifierCV(ensemble=False) fits on its own out-of-fold logits, without refitting
        the whole calibrated head per fold). Other heads: refitted whole (refit_out_of_fold)."""
        X = getattr(self, "_train_matrix", None)
        if X is None or X.shape[0] != len(docs):
            X = self.transform(docs)
        fast = [h for h in heads if h in self.compiled_.temperature]
        out = {}
        for head in fast:
            logits = cross_val_predict(clone(self.heads_[head].estimator), X, np.asarray(labels[head]), cv=splits,
                                       method="decision_function")
            out[head] = _softmax(self.compiled_.temperature[head] * logits)
        rest = [h for h in heads if h not in fast]
        if rest:
            out.update(refit_out_of_fold(self, docs, labels, splits, rest))
        return {head: out[head] for head in heads}

    def vocabulary(self) -> frozenset[str]:
        return self.compiled_features_.known_words

    def predict(self, docs) -> dict[str, list]:
        proba = self.predict_proba(docs)
        out: dict[str, list] = {}
        for head in HEADS:
            classes = self.classes_[head]
            if head in MULTILABEL_HEADS:
                out[head] = [[classes[j] for j in np.flatnonzero(row >= 0.5)] for row in proba[head]]
            else:
                out[head] = [classes[i] for i in proba[head].argmax(axis=1)]
        return out

    def linear_weights(self, head: str) -> tuple[np.ndarray, np.ndarray]:
        """(weights features x classes, classes) of a head's linear model, for explanations.

        For multinomial heads each class column is centred on the mean over classes, so that a
        positive weight pushes towards that class rather than towards all classes at once.
        """
        model = self.heads_[head]
        if HEAD_BY_NAME[head].kind == "multilabel":
            return model.coef_.T, np.asarray(HEAD_BY_NAME[head].classes)
        # The base estimator is fitted on encoded labels 0..k-1, in the order of model.classes_.
        coef = model.calibrated_classifiers_[0].estimator.coef_
        if coef.shape[0] == 1:  # binary: column for the positive class, its negation for the other
            w = coef[0]
            return np.stack([-w, w], axis=1), np.asarray(model.classes_)
        return (coef - coef.mean(axis=0)).T, np.asarray(model.classes_)


class CompiledHeads:
    """All linear heads stacked into one weight matrix, with their calibrators.

    The fitted heads are the source of truth; this is their inference path, so that one sparse
    product replaces four predict_proba calls with their validation overhead. Equality with the
    scikit-learn path is checked at fit time and in tests.
    """

    def __init__(self, weights, intercepts, slices, temperature, sigmoid, platt, classes):
        self.weights = weights          # features x all columns, float64
        self.intercepts = intercepts
        self.slices = slices            # head -> (start, stop)
        self.temperature = temperature  # head -> beta (softmax(beta * logits))
        self.sigmoid = sigmoid          # head -> (a, b): p = 1 / (1 + exp(a * d + b))
        self.platt = platt              # multilabel head -> (a, b) per label: p = 1 / (1 + exp(-(a * d + b)))
        self.classes = classes

    def __setstate__(self, state):
        # Artifacts saved before the registry hold the one multilabel head's calibration as topics_platt.
        state = dict(state)
        if "topics_platt" in state:
            state["platt"] = {"topics": state.pop("topics_platt")}
        self.__dict__.update(state)

    @classmethod
    def from_heads(cls, heads: dict) -> "CompiledHeads":
        cols, intercepts, slices, temperature, sigmoid, platt, classes = [], [], {}, {}, {}, {}, {}
        start = 0
        for head in SINGLE_LABEL_HEADS:
            model = heads[head]
            calibrated = model.calibrated_classifiers_[0]
            base = calibrated.estimator
            cols.append(base.coef_.T)
            intercepts.append(base.intercept_)
            slices[head] = (start, start + base.coef_.shape[0])
            start += base.coef_.shape[0]
            classes[head] = model.classes_
            (calibrator,) = calibrated.calibrators
            if model.method == "temperature":
                temperature[head] = float(calibrator.beta_)
            else:
                sigmoid[head] = (float(calibrator.a_), float(calibrator.b_))
        for head in MULTILABEL_HEADS:
            model = heads[head]
            cols.append(model.coef_.T)
            intercepts.append(model.intercept_)
            slices[head] = (start, start + model.coef_.shape[0])
            start += model.coef_.shape[0]
            platt[head] = (model.platt_a_, model.platt_b_)
        return cls(np.ascontiguousarray(np.hstack(cols)), np.concatenate(intercepts), slices, temperature,
                   sigmoid, platt, classes)

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        Z = np.asarray(X @ self.weights) + self.intercepts
        out = {}
        for head, beta in self.temperature.items():
            lo, hi = self.slices[head]
            out[head] = _softmax(beta * Z[:, lo:hi])
        for head, (a, b) in self.sigmoid.items():
            lo, _ = self.slices[head]
            p = 1.0 / (1.0 + np.exp(a * Z[:, lo] + b))
            out[head] = np.column_stack([1.0 - p, p])
        for head, (a, b) in self.platt.items():
            lo, hi = self.slices[head]
            out[head] = 1.0 / (1.0 + np.exp(-(a * Z[:, lo:hi] + b)))
        return {head: out[head] for head in HEADS}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fitted_classes(head: Head, model) -> list:
    if head.kind == "multilabel":
        return list(head.classes)
    if head.kind == "binary":
        return [bool(c) for c in model.classes_]
    return list(model.classes_)


def topic_matrix(topic_lists: Sequence[Sequence[str]]) -> np.ndarray:
    return label_matrix(topic_lists, TOPICS)
