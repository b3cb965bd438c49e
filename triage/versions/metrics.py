"""Metrics of a model on labelled texts, and the targets they are measured against.

In the core because the service's quality gate evaluates candidates on the reviewed gold records
(triage.versions.gate) and must not import training/; training/evaluate.py re-exports these."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from triage.labels import BINARY_HEADS, HEAD_BY_NAME, HEAD_REGISTRY, MULTICLASS_HEADS, MULTILABEL_HEADS, URGENCIES, Head

# The targets of the model issue, checked by the quality test and shown in reports.
TARGETS = {
    "role_macro_f1": 0.85,
    "minor_f1": 0.85,
    "urgency_macro_f1": 0.75,
    "acute_recall": 0.95,
    "acute_precision": 0.70,
    "acute_as_normal_or_low": 0,
}

# The real-writing issue's targets for sets of real public texts (real_dev): no acute opener among them, so
# the alarm is bounded by the share called acute (at most 2 of 39) and danger by severe (acute + high) recall.
REAL_TARGETS = {
    "role_macro_f1": 0.75,
    "urgency_macro_f1": 0.60,
    "severe_recall": 0.90,
    "share_called_acute": 2 / 39,
    "minor_recall": 2 / 3,
}
_AT_MOST = {"acute_as_normal_or_low", "share_called_acute"}


def targets_for(set_name: str) -> dict:
    """The targets a set is measured against: real text has its own."""
    return REAL_TARGETS if "real_dev" in set_name else TARGETS


def _per_class(gold: Sequence, pred: Sequence, labels: Sequence) -> dict:
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(labels), zero_division=0)
    return {str(c): {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                     "f1": round(float(f[i]), 4), "support": int(s[i])} for i, c in enumerate(labels)}


def _multiclass(gold: Sequence, pred: Sequence, labels: Sequence) -> dict:
    # Macro-F1 over the classes that occur in the gold labels or the predictions (scikit-learn's default):
    # a class nobody wrote and the model never chose has no F1 to average. Per-class rows show every class.
    present = [c for c in labels if c in set(gold) | set(pred)]
    return {
        "macro_f1": round(float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "per_class": _per_class(gold, pred, labels),
        "confusion": {"labels": list(labels),
                      "matrix": confusion_matrix(gold, pred, labels=list(labels)).tolist()},
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return round(float(ece), 4)


def _binary(gold: Sequence[bool], pred: Sequence[bool]) -> dict:
    prec, rec, f1, _ = precision_recall_fscore_support(gold, pred, average="binary", pos_label=True, zero_division=0)
    return {"f1": round(float(f1), 4), "precision": round(float(prec), 4), "recall": round(float(rec), 4),
            "accuracy": round(float(accuracy_score(gold, pred)), 4),
            "support": int(sum(gold)),
            "confusion": {"labels": [False, True], "matrix": confusion_matrix(gold, pred, labels=[False, True]).tolist()}}


def _multilabel(Yg: np.ndarray, Yp: np.ndarray, classes: Sequence[str]) -> dict:
    return {
        "micro_f1": round(float(f1_score(Yg, Yp, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Yg, Yp, average="macro", zero_division=0)), 4),
        "per_class": {t: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                          "support": int(s)}
                      for t, p, r, f, s in zip(classes, *precision_recall_fscore_support(Yg, Yp, zero_division=0))},
    }


def _head_metrics(head: Head, gold: Sequence[dict], predictions: Sequence[dict]) -> dict:
    """The metrics every head of this kind gets."""
    if head.kind == "binary":
        return _binary([bool(g[head.name]) for g in gold], [bool(p[head.name]) for p in predictions])
    if head.kind == "multilabel":
        return _multilabel(_indicators(gold, head), _indicators(predictions, head, strict=True), head.classes)
    return _multiclass([g[head.name] for g in gold], [p[head.name] for p in predictions], head.classes)


def _indicators(rows: Sequence[dict], head: Head, strict: bool = False) -> np.ndarray:
    """0/1 per class of a multilabel head; gold may leave the head out (no class), a prediction may not."""
    return np.array([[c in (r[head.name] if strict else r.get(head.name, [])) for c in head.classes] for r in rows],
                    dtype=int)


def evaluate(gold: Sequence[dict], predictions: Sequence[dict], targets: dict | None = None) -> dict:
    """gold: dicts with the label of every head; predictions: TriageModel.predict output; targets:
    TARGETS by default, see targets_for()."""
    if len(gold) != len(predictions):
        raise ValueError("gold and predictions differ in length")
    out: dict = {"n": len(gold)}
    for head in HEAD_REGISTRY:
        out[head.name] = _head_metrics(head, gold, predictions)

    # Urgency's own figures: missing acute danger is the costliest error.
    g_urg = [g["urgency"] for g in gold]
    p_urg = [p["urgency"] for p in predictions]
    acute = [i for i, g in enumerate(g_urg) if g == "acute"]
    out["urgency"]["acute_recall"] = out["urgency"]["per_class"]["acute"]["recall"]
    out["urgency"]["acute_as_normal_or_low"] = sum(p_urg[i] in ("normal", "low") for i in acute)
    called = sum(u == "acute" for u in p_urg)
    out["urgency"]["acute_precision"] = out["urgency"]["per_class"]["acute"]["precision"]
    out["urgency"]["predicted_acute"] = called
    out["urgency"]["share_called_acute"] = round(called / max(len(p_urg), 1), 4)
    severe = [i for i, g in enumerate(g_urg) if g in ("acute", "high")]
    out["urgency"]["severe_recall"] = round(sum(p_urg[i] in ("acute", "high") for i in severe) / len(severe), 4) \
        if severe else None
    out["urgency"]["under_by_two_levels"] = sum(URGENCIES.index(p) - URGENCIES.index(g) >= 2
                                                for g, p in zip(g_urg, p_urg))
    model_only = [p.get("explanation", {}).get("urgency_model", p["urgency"]) for p in predictions]
    mo = _multiclass(g_urg, model_only, URGENCIES)
    out["urgency"]["without_red_flags"] = {"macro_f1": mo["macro_f1"],
                                           "acute_recall": mo["per_class"]["acute"]["recall"]}

    out["calibration"] = _calibration(gold, predictions)
    out["needs_review_rate"] = round(float(np.mean([p["needs_review"] for p in predictions])), 4)
    out["targets"] = check_targets(out, targets)
    return out


def _calibration(gold: Sequence[dict], predictions: Sequence[dict]) -> dict:
    """Brier score (and ECE of the top score) of every head's scores; multiclass heads first, then
    binary, then multilabel (the order reports show them in)."""
    calibration = {}
    for name in MULTICLASS_HEADS:
        classes = HEAD_BY_NAME[name].classes
        probs = np.array([[p["scores"][name][c] for c in classes] for p in predictions])
        onehot = np.array([[g[name] == c for c in classes] for g in gold], dtype=float)
        top = probs.argmax(axis=1)
        calibration[name] = {
            "brier": round(float(np.mean(np.sum((probs - onehot) ** 2, axis=1))), 4),
            "ece": expected_calibration_error(probs.max(axis=1), onehot[np.arange(len(top)), top]),
        }
    for name in BINARY_HEADS:
        pm = np.array([p["scores"][name]["true"] for p in predictions])
        gm = np.array([bool(g[name]) for g in gold], dtype=float)
        calibration[name] = {"brier": round(float(np.mean((pm - gm) ** 2)), 4),
                             "ece": expected_calibration_error(np.maximum(pm, 1 - pm), ((pm >= 0.5) == gm).astype(float))}
    for name in MULTILABEL_HEADS:
        head = HEAD_BY_NAME[name]
        pt = np.array([[p["scores"][name][c] for c in head.classes] for p in predictions])
        calibration[name] = {"brier": round(float(np.mean((pt - _indicators(gold, head)) ** 2)), 4)}
    return calibration


def check_targets(metrics: dict, targets: dict | None = None) -> dict:
    """Each target with the measured value and whether it is met."""
    u = metrics["urgency"]
    measured = {
        "role_macro_f1": metrics["role"]["macro_f1"],
        "minor_f1": metrics["minor"]["f1"],
        "minor_recall": metrics["minor"]["recall"],
        "urgency_macro_f1": u["macro_f1"],
        "acute_recall": u["acute_recall"],
        "acute_precision": u["acute_precision"],
        "acute_as_normal_or_low": u["acute_as_normal_or_low"],
        "severe_recall": u["severe_recall"] if u["severe_recall"] is not None else 1.0,
        "share_called_acute": u["share_called_acute"],
    }
    out = {}
    for key, target in (targets or TARGETS).items():
        value = measured[key]
        # Measured values are rounded to 4 decimals: allow that rounding, no more.
        met = value <= target + 5e-5 if key in _AT_MOST else value >= target - 5e-5
        out[key] = {"value": value, "target": round(target, 4), "met": bool(met)}
    return out
