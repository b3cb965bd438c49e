"""Quality metrics from predictions (the output of TriageModel.predict) against gold labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from triage.labels import ROLES, TOPICS, URGENCIES

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


def evaluate(gold: Sequence[dict], predictions: Sequence[dict], targets: dict | None = None) -> dict:
    """gold: dicts with role, minor, urgency, topics; predictions: TriageModel.predict output; targets:
    TARGETS by default, see targets_for()."""
    if len(gold) != len(predictions):
        raise ValueError("gold and predictions differ in length")
    out: dict = {"n": len(gold)}
    g_role = [g["role"] for g in gold]
    p_role = [p["role"] for p in predictions]
    out["role"] = _multiclass(g_role, p_role, ROLES)

    g_minor = [bool(g["minor"]) for g in gold]
    p_minor = [bool(p["minor"]) for p in predictions]
    prec, rec, f1, _ = precision_recall_fscore_support(g_minor, p_minor, average="binary", pos_label=True,
                                                       zero_division=0)
    out["minor"] = {"f1": round(float(f1), 4), "precision": round(float(prec), 4), "recall": round(float(rec), 4),
                    "accuracy": round(float(accuracy_score(g_minor, p_minor)), 4),
                    "support": int(sum(g_minor)),
                    "confusion": {"labels": [False, True],
                                  "matrix": confusion_matrix(g_minor, p_minor, labels=[False, True]).tolist()}}

    g_urg = [g["urgency"] for g in gold]
    p_urg = [p["urgency"] for p in predictions]
    out["urgency"] = _multiclass(g_urg, p_urg, URGENCIES)
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

    Yg = np.array([[t in g.get("topics", []) for t in TOPICS] for g in gold], dtype=int)
    Yp = np.array([[t in p["topics"] for t in TOPICS] for p in predictions], dtype=int)
    out["topics"] = {
        "micro_f1": round(float(f1_score(Yg, Yp, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Yg, Yp, average="macro", zero_division=0)), 4),
        "per_class": {t: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                          "support": int(s)}
                      for t, p, r, f, s in zip(TOPICS, *precision_recall_fscore_support(Yg, Yp, zero_division=0))},
    }

    calibration = {}
    for head, gold_labels, classes in (("role", g_role, ROLES), ("urgency", g_urg, URGENCIES)):
        probs = np.array([[p["scores"][head][c] for c in classes] for p in predictions])
        onehot = np.array([[g == c for c in classes] for g in gold_labels], dtype=float)
        top = probs.argmax(axis=1)
        calibration[head] = {
            "brier": round(float(np.mean(np.sum((probs - onehot) ** 2, axis=1))), 4),
            "ece": expected_calibration_error(probs.max(axis=1), onehot[np.arange(len(top)), top]),
        }
    pm = np.array([p["scores"]["minor"]["true"] for p in predictions])
    gm = np.array(g_minor, dtype=float)
    calibration["minor"] = {"brier": round(float(np.mean((pm - gm) ** 2)), 4),
                            "ece": expected_calibration_error(np.maximum(pm, 1 - pm), ((pm >= 0.5) == gm).astype(float))}
    pt = np.array([[p["scores"]["topics"][t] for t in TOPICS] for p in predictions])
    calibration["topics"] = {"brier": round(float(np.mean((pt - Yg) ** 2)), 4)}
    out["calibration"] = calibration
    out["needs_review_rate"] = round(float(np.mean([p["needs_review"] for p in predictions])), 4)
    out["targets"] = check_targets(out, targets)
    return out


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


def format_metrics(name: str, m: dict) -> str:
    """A plain-text table of the metrics, as `triage evaluate` prints them."""
    lines = [f"== {name} (n={m['n']}) =="]
    for head in ("role", "urgency"):
        lines.append(f"{head}: macro-F1 {m[head]['macro_f1']:.3f}  accuracy {m[head]['accuracy']:.3f}")
        lines.append(f"  {'class':<14}{'prec':>7}{'recall':>8}{'F1':>7}{'n':>6}")
        for c, v in m[head]["per_class"].items():
            lines.append(f"  {c:<14}{v['precision']:>7.3f}{v['recall']:>8.3f}{v['f1']:>7.3f}{v['support']:>6}")
    u = m["urgency"]
    lines.append(f"  acute precision {u['acute_precision']:.3f}; called acute {u['predicted_acute']} "
                 f"({u['share_called_acute']:.1%} of all); severe (acute+high) recall "
                 f"{'-' if u['severe_recall'] is None else format(u['severe_recall'], '.3f')}; "
                 f"under-triaged by two levels: {u['under_by_two_levels']}")
    lines.append(f"  acute recall {u['acute_recall']:.3f}; acute predicted normal/low: {u['acute_as_normal_or_low']}; "
                 f"without red flags: macro-F1 {u['without_red_flags']['macro_f1']:.3f}, "
                 f"acute recall {u['without_red_flags']['acute_recall']:.3f}")
    mi = m["minor"]
    lines.append(f"minor: F1 {mi['f1']:.3f}  precision {mi['precision']:.3f}  recall {mi['recall']:.3f}  (n={mi['support']})")
    lines.append(f"topics: micro-F1 {m['topics']['micro_f1']:.3f}  macro-F1 {m['topics']['macro_f1']:.3f}")
    cal = m["calibration"]
    lines.append("calibration (Brier / ECE): " + ", ".join(
        f"{h} {cal[h]['brier']:.3f}/{cal[h].get('ece', float('nan')):.3f}" for h in ("role", "minor", "urgency")))
    lines.append(f"needs_review: {m['needs_review_rate']:.1%}")
    lines.append("targets: " + ", ".join(
        f"{k} {v['value']} {'OK' if v['met'] else 'MISSED'} (target {v['target']})" for k, v in m["targets"].items()))
    return "\n".join(lines)


def length_bucket(text: str) -> str:
    words = len(text.split())
    return "<30 words" if words < 30 else "30-59 words" if words < 60 else "60-119 words" if words < 120 else "120+ words"


def breakdown(gold: Sequence[dict], predictions: Sequence[dict], groups: Sequence[str]) -> dict:
    """Per group (length, register, language): where the errors are."""
    out: dict[str, dict] = {}
    for name in sorted(set(groups)):
        idx = [i for i, g in enumerate(groups) if g == name]
        g = [gold[i] for i in idx]
        p = [predictions[i] for i in idx]
        severe = [k for k, x in enumerate(g) if x["urgency"] in ("acute", "high")]
        minors = [k for k, x in enumerate(g) if x["minor"]]
        out[name] = {
            "n": len(idx),
            "role_accuracy": round(float(np.mean([a["role"] == b["role"] for a, b in zip(g, p)])), 3),
            "urgency_accuracy": round(float(np.mean([a["urgency"] == b["urgency"] for a, b in zip(g, p)])), 3),
            "severe_recall": round(float(np.mean([p[k]["urgency"] in ("acute", "high") for k in severe])), 3)
            if severe else None,
            "minor_recall": round(float(np.mean([bool(p[k]["minor"]) for k in minors])), 3) if minors else None,
            "called_acute": sum(b["urgency"] == "acute" for b in p),
            "true_acute": sum(a["urgency"] == "acute" for a in g),
        }
    return out


def format_breakdown(title: str, table: dict) -> str:
    lines = [f"{title}:", f"  {'group':<22}{'n':>5}{'role acc':>10}{'urg acc':>9}{'severe rec':>11}{'minor rec':>10}"
                           f"{'acute pred/true':>16}"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for name, r in table.items():
        lines.append(f"  {name[:21]:<22}{r['n']:>5}{fmt(r['role_accuracy']):>10}{fmt(r['urgency_accuracy']):>9}"
                     f"{fmt(r['severe_recall']):>11}{fmt(r['minor_recall']):>10}"
                     f"{str(r['called_acute']) + '/' + str(r['true_acute']):>16}")
    return "\n".join(lines)


HEADLINE = (("role macro-F1", lambda m: m["role"]["macro_f1"]), ("minor F1", lambda m: m["minor"]["f1"]),
            ("urgency macro-F1", lambda m: m["urgency"]["macro_f1"]),
            ("acute recall", lambda m: m["urgency"]["acute_recall"]),
            ("acute precision", lambda m: m["urgency"]["acute_precision"]),
            ("share called acute", lambda m: m["urgency"]["share_called_acute"]),
            ("severe recall", lambda m: m["urgency"]["severe_recall"]),
            ("under by 2 levels", lambda m: m["urgency"]["under_by_two_levels"]))


def format_comparison(model: dict, baseline: dict) -> str:
    """The model beside the plain baseline on the same data."""
    lines = [f"  {'':<20}{'model':>8}{'baseline':>10}"]
    for name, get in HEADLINE:
        a, b = get(model), get(baseline)
        lines.append(f"  {name:<20}{'-' if a is None else format(a, '.3f'):>8}{'-' if b is None else format(b, '.3f'):>10}")
    return "model vs plain baseline (TF-IDF char 2-5 + word 1-2, logistic regression):\n" + "\n".join(lines)


def breakdowns(examples: Sequence, predictions: Sequence[dict]) -> dict:
    """Errors by length, register (or the site a real text came from) and language."""
    gold = [e.labels() for e in examples]
    return {
        "length": breakdown(gold, predictions, [length_bucket(e.text) for e in examples]),
        "register": breakdown(gold, predictions, [e.register or e.source for e in examples]),
        "language": breakdown(gold, predictions, [e.lang for e in examples]),
    }
