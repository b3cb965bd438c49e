"""The plain baseline every report shows beside the model.

TF-IDF of character 2–5-grams and word 1–2-grams, one logistic regression per head with balanced class
weights, argmax decisions: no spaCy, no cues, no red flags, no tuned thresholds. The model has to beat it on
every head and every evaluation set to earn its extra parts.

It is fitted at training time on the model's own training data and saved next to the model
(`baseline.joblib`, its sha256 in the manifest), so that `triage evaluate` compares both on any file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion

from triage.artifacts import ArtifactError, sha256_file
from triage.estimator import label_matrix
from triage.labels import HEAD_REGISTRY, SINGLE_LABEL_HEADS

BASELINE = "baseline.joblib"


def _vectorizer() -> FeatureUnion:
    return FeatureUnion([
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                 lowercase=True, dtype=np.float32)),
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                 lowercase=True, dtype=np.float32)),
    ])


class PlainBaseline:
    """fit(texts, labels) / predict(texts) with the output shape of TriageModel.predict (no flags)."""

    def fit(self, texts: Sequence[str], labels: dict) -> "PlainBaseline":
        self.vectorizer_ = _vectorizer().fit(texts)
        X = self.vectorizer_.transform(texts)
        lr = dict(class_weight="balanced", max_iter=3000)
        self.heads_ = {head: LogisticRegression(**lr).fit(X, np.asarray(labels[head])) for head in SINGLE_LABEL_HEADS}
        self.multilabel_ = {head.name: OneVsRestClassifier(LogisticRegression(**lr)).fit(
            X, label_matrix(labels[head.name], head.classes)) for head in HEAD_REGISTRY if head.kind == "multilabel"}
        return self

    def __setstate__(self, state):
        # Baselines saved before the registry hold the one multilabel head as topics_.
        state = dict(state)
        if "topics_" in state:
            state["multilabel_"] = {"topics": state.pop("topics_")}
        self.__dict__.update(state)

    def predict(self, texts: Sequence[str]) -> list[dict]:
        X = self.vectorizer_.transform(texts)
        proba = {head: model.predict_proba(X) for head, model in self.heads_.items()}
        proba.update({head: model.predict_proba(X) for head, model in self.multilabel_.items()})
        out = []
        for i in range(len(texts)):
            scores, labels = {}, {}
            for head in HEAD_REGISTRY:
                p = proba[head.name][i]
                if head.kind == "multilabel":
                    scores[head.name] = dict(zip(head.classes, map(float, p)))
                    labels[head.name] = [c for c, v in zip(head.classes, p) if v >= 0.5]
                    continue
                s = {str(c).lower(): float(v) for c, v in zip(self.heads_[head.name].classes_, p)}
                scores[head.name] = s
                labels[head.name] = s["true"] >= 0.5 if head.kind == "binary" else max(s, key=s.get)
            out.append({**labels, "scores": scores, "needs_review": False})
        return out


def save_baseline(model_dir: Path, baseline: PlainBaseline) -> dict:
    path = model_dir / BASELINE
    joblib.dump(baseline, path, compress=3)
    return {"file": BASELINE, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def load_baseline(model_dir: Path, manifest: dict) -> PlainBaseline | None:
    """The model's baseline, verified against its manifest; None for models trained without one."""
    entry = manifest.get("baseline")
    if not entry:
        return None
    path = model_dir / entry["file"]
    if not path.is_file() or sha256_file(path) != entry["sha256"]:
        raise ArtifactError(f"refusing to load {path}: missing, or its sha256 does not match the manifest")
    return joblib.load(path)
