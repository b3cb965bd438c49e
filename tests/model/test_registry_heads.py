"""The head registry drives the model's heads: artifacts pickled before it (one multilabel head
stored under its own name) load into the registry's shape and predict every head."""

from __future__ import annotations

from training.baseline import load_baseline
from triage.labels import HEAD_REGISTRY, HEADS, MULTILABEL_HEADS


def test_the_active_models_compiled_heads_cover_the_registry(active_model):
    compiled = active_model.estimator.compiled_
    assert list(compiled.slices) == [h.name for h in HEAD_REGISTRY if h.kind != "multilabel"] + list(MULTILABEL_HEADS)
    assert set(compiled.platt) == set(MULTILABEL_HEADS) and not hasattr(compiled, "topics_platt")


def test_a_baseline_saved_before_the_registry_predicts_every_head(active_model):
    baseline = load_baseline(active_model.model_dir, active_model.manifest)
    assert baseline is not None, "the default model is saved with its baseline"
    assert set(baseline.multilabel_) == set(MULTILABEL_HEADS) and not hasattr(baseline, "topics_")
    (out,) = baseline.predict(["hij heeft me net gewurgd en ik ben bang"])
    assert list(out) == [*HEADS, "scores", "needs_review"] and list(out["scores"]) == list(HEADS)
    assert out["topics"] == [t for t, p in out["scores"]["topics"].items() if p >= 0.5]
    assert out["minor"] == (out["scores"]["minor"]["true"] >= 0.5)
