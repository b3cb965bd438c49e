"""Tuning the urgency decision thresholds on out-of-fold probabilities.

The chosen thresholds maximise urgency macro-F1 among those that keep acute recall at or above
ACUTE_RECALL_TARGET and let the fewest acute openers fall to normal or low, with red-flag floors
applied exactly as at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score

from triage.decision import UrgencyPolicy
from triage.labels import URGENCIES, URGENCY_RANK

# Stricter than the product target (0.95): thresholds found on training folds loosen on new data.
ACUTE_RECALL_TARGET = 0.97
ACUTE_GRID = np.round(np.arange(0.05, 0.61, 0.025), 3)
HIGH_GRID = np.round(np.arange(0.10, 0.71, 0.025), 3)


def floor_ranks(flag_lists: Sequence[Sequence]) -> np.ndarray:
    """Per opener, the rank of the most urgent red-flag floor (len(URGENCIES) if none)."""
    none = len(URGENCIES)
    return np.array([min([URGENCY_RANK[f.floor] for f in flags if f.floor] or [none]) for flags in flag_lists])


def decide_ranks(proba: np.ndarray, floors: np.ndarray, acute_t: float, high_t: float) -> np.ndarray:
    """Vectorised UrgencyPolicy.decide: proba columns in URGENCIES order, returns urgency ranks."""
    ranks = np.where(proba[:, 2] >= proba[:, 3], 2, 3)
    ranks = np.where(proba[:, 0] + proba[:, 1] >= high_t, 1, ranks)
    ranks = np.where(proba[:, 0] >= acute_t, 0, ranks)
    return np.minimum(ranks, floors)


def tune_urgency_policy(proba: np.ndarray, floors: np.ndarray, gold: Sequence[str]) -> tuple[UrgencyPolicy, dict]:
    gold_ranks = np.array([URGENCY_RANK[g] for g in gold])
    acute = gold_ranks == 0
    best = None
    for a in ACUTE_GRID:
        for h in HIGH_GRID:
            if h < a:
                continue
            ranks = decide_ranks(proba, floors, a, h)
            recall = float((ranks[acute] == 0).mean()) if acute.any() else 1.0
            fell = int((ranks[acute] >= 2).sum())
            macro = float(f1_score(gold_ranks, ranks, labels=[0, 1, 2, 3], average="macro", zero_division=0))
            key = (recall >= ACUTE_RECALL_TARGET, -fell, macro if recall >= ACUTE_RECALL_TARGET else recall, a, h)
            if best is None or key > best[0]:
                best = (key, a, h, recall, fell, macro)
    _, a, h, recall, fell, macro = best
    summary = {"acute_threshold": float(a), "high_threshold": float(h), "oof_acute_recall": round(recall, 4),
               "oof_acute_as_normal_or_low": fell, "oof_macro_f1": round(macro, 4),
               "acute_recall_target": ACUTE_RECALL_TARGET}
    return UrgencyPolicy(float(a), float(h)), summary
