"""Reviewers' agreement and the gold label resolved from their reviews.

Each review gives, per head, the reviewer's label: the model's label where the reviewer marked it
correct (`role_ok: true`, ...), else the reviewer's correction.

Gold label per head (the rule documented in docs/api.md):

- role, minor: the label most reviewers give. A tie between the top labels leaves the head
  unresolved: the record needs another review.
- urgency: the label most reviewers give; a tie goes to the more urgent of the tied labels
  (under-triage is the worse error).
- topics: per topic, in the gold set when at least half of the reviews include it.
- A record is resolved (exported for training, used as gold by the quality gate) when role, minor
  and urgency are all resolved. One review resolves a record.

Agreement per head over the records that have at least two reviews:

- percent agreement: per record the share of reviewer pairs that give the same label, averaged
  over the records (with two reviewers: the share of records on which they agree).
- kappa: Cohen's kappa (scikit-learn's `cohen_kappa_score`) when exactly two reviewers reviewed
  all those records; otherwise Fleiss' kappa, in the form that allows a different number of
  reviewers per record (Fleiss 1971 for a constant number; the unequal-raters form from Gwet,
  Handbook of Inter-Rater Reliability, 4th ed., ch. 2). None when undefined (every review gives
  the same label: chance agreement is 1).
- topics: each (record, topic) pair is one yes/no decision; percent agreement and kappa are
  computed over all of them together.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

from triage.labels import HEAD_REGISTRY, SINGLE_LABEL_HEADS, URGENCY_RANK

# Multi-label heads (topics): gold and agreement per label, each a yes/no decision.
MULTILABEL_HEADS = tuple(h for h in HEAD_REGISTRY if h.kind == "multilabel")
# Ties a head resolves by rule instead of leaving it unresolved: urgency goes to the more urgent
# label (under-triage is the worse error).
TIE_BREAK = {"urgency": lambda tied: min(tied, key=lambda u: URGENCY_RANK[u])}


# --- the gold label -------------------------------------------------------------------------------

def _majority(labels: Sequence[Hashable]) -> tuple[list[Hashable], int]:
    counts = Counter(labels)
    if not counts:
        return [], 0
    best = max(counts.values())
    return [label for label, n in counts.items() if n == best], best


def resolve_gold(reviews: Sequence[Mapping]) -> dict:
    """The gold labels from reviews (each {head: label}, a list for a multi-label head): per head
    the label or None ({"role": ..., "minor": bool or None, ..., "topics": [...] or None}),
    "resolved": bool, "votes": {head: {label: count}}."""
    out: dict = {"votes": {}}
    for head in SINGLE_LABEL_HEADS:
        labels = [r[head] for r in reviews]
        top, _ = _majority(labels)
        out["votes"][head] = {str(k).lower() if isinstance(k, bool) else k: v for k, v in Counter(labels).items()}
        if not top:
            out[head] = None
        elif len(top) == 1:
            out[head] = top[0]
        elif head in TIE_BREAK:
            out[head] = TIE_BREAK[head](top)
        else:
            out[head] = None
    for head in MULTILABEL_HEADS:
        if reviews:
            counts = Counter(t for r in reviews for t in set(r[head.name]))
            out[head.name] = [t for t in head.classes if 2 * counts.get(t, 0) >= len(reviews) and counts.get(t, 0) > 0]
            out["votes"][head.name] = {t: counts[t] for t in head.classes if counts.get(t)}
        else:
            out[head.name] = None
    out["resolved"] = bool(reviews) and all(out[h] is not None for h in SINGLE_LABEL_HEADS)
    return out


# --- agreement ------------------------------------------------------------------------------------

def percent_agreement(items: Sequence[Sequence[Hashable]]) -> float | None:
    """Mean over items (each the labels of its reviewers, at least two) of the share of agreeing
    reviewer pairs."""
    shares = []
    for labels in items:
        n = len(labels)
        if n < 2:
            continue
        pairs = sum(c * (c - 1) for c in Counter(labels).values())
        shares.append(pairs / (n * (n - 1)))
    return sum(shares) / len(shares) if shares else None


def fleiss_kappa(items: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa for items rated by any number (>= 2) of raters each.

    With r_i raters on item i and r_ik of them choosing category k:
      p_a = mean_i sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))      (observed agreement)
      pi_k = mean_i r_ik / r_i ;  p_e = sum_k pi_k^2           (chance agreement)
      kappa = (p_a - p_e) / (1 - p_e)
    With the same number of raters on every item this is exactly Fleiss (1971). None when there is
    no item with two raters or p_e = 1.
    """
    rated = [list(labels) for labels in items if len(labels) >= 2]
    if not rated:
        return None
    p_a = percent_agreement(rated)
    totals: Counter = Counter()
    for labels in rated:
        for label, count in Counter(labels).items():
            totals[label] += count / len(labels)
    p_e = sum((v / len(rated)) ** 2 for v in totals.values())
    if math.isclose(p_e, 1.0):
        return None
    return (p_a - p_e) / (1 - p_e)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters (scikit-learn); None when undefined."""
    from sklearn.metrics import cohen_kappa_score

    if not a:
        return None
    a = [str(x) for x in a]
    b = [str(x) for x in b]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(a, b))
    return None if math.isnan(value) else value


def head_agreement(ratings: Mapping[Hashable, Mapping[str, Hashable]]) -> dict:
    """Agreement on one head. ratings: record id -> {reviewer: label}; records with fewer than two
    reviews are left out."""
    multi = {rid: r for rid, r in ratings.items() if len(r) >= 2}
    reviewers = sorted({who for r in multi.values() for who in r})
    items = [list(r.values()) for r in multi.values()]
    out = {"records": len(multi), "reviewers": len(reviewers), "percent_agreement": _round(percent_agreement(items)),
           "kappa": None, "method": None}
    if not multi:
        return out
    if len(reviewers) == 2 and all(len(r) == 2 for r in multi.values()):
        first, second = reviewers
        out["kappa"] = _round(cohen_kappa([r[first] for r in multi.values()], [r[second] for r in multi.values()]))
        out["method"] = "cohen"
    else:
        out["kappa"] = _round(fleiss_kappa(items))
        out["method"] = "fleiss"
    return out


def agreement(reviews: Sequence[Mapping]) -> dict:
    """Agreement per head from review rows ({record_id, reviewer, and per head its label})."""
    per_head: dict[str, dict] = {head: {} for head in SINGLE_LABEL_HEADS}
    per_label: dict[str, dict] = {head.name: {} for head in MULTILABEL_HEADS}
    for r in reviews:
        for head in SINGLE_LABEL_HEADS:
            per_head[head].setdefault(r["record_id"], {})[r["reviewer"]] = r[head]
        for head in MULTILABEL_HEADS:
            chosen = set(r[head.name])
            for label in head.classes:
                per_label[head.name].setdefault((r["record_id"], label), {})[r["reviewer"]] = label in chosen
    out = {head: head_agreement(ratings) for head, ratings in per_head.items()}
    for head in MULTILABEL_HEADS:
        pairs = per_label[head.name]
        result = head_agreement(pairs)
        result["records"] = len({rid for (rid, _), r in pairs.items() if len(r) >= 2})
        result["unit"] = f"record x {head.name.removesuffix('s')}"  # "record x topic"
        out[head.name] = result
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
