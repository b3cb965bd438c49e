"""Quality metrics from predictions (the output of TriageModel.predict) against gold labels.

The metrics themselves and the targets live in the core (triage/versions/metrics.py), so that the
service's quality gate needs no training/; this module adds the reports and breakdowns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.labels import MULTICLASS_HEADS, SINGLE_LABEL_HEADS
from triage.versions.metrics import (REAL_TARGETS, TARGETS, check_targets, evaluate,  # noqa: F401 - re-exported
                                     expected_calibration_error, targets_for)

def format_metrics(name: str, m: dict) -> str:
    """A plain-text table of the metrics, as `triage evaluate` prints them."""
    lines = [f"== {name} (n={m['n']}) =="]
    for head in MULTICLASS_HEADS:
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
        f"{h} {cal[h]['brier']:.3f}/{cal[h].get('ece', float('nan')):.3f}" for h in SINGLE_LABEL_HEADS))
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
