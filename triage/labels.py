"""The label scheme (see docs/annotation-guide.md) and the registry of the heads that predict it.

Every place that loops over heads (estimator, model, explanations, review, audit, agreement,
evaluation) reads HEAD_REGISTRY, so a new head is declared here once. Orders matter: urgency is most
urgent first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    VICTIM = "victim"
    BYSTANDER = "bystander"
    PERPETRATOR = "perpetrator"
    PROFESSIONAL = "professional"
    UNKNOWN = "unknown"


class Urgency(StrEnum):
    ACUTE = "acute"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Topic(StrEnum):
    PHYSICAL = "physical"
    PSYCHOLOGICAL = "psychological"
    SEXUAL = "sexual"
    NEGLECT = "neglect"
    FINANCIAL = "financial"
    COERCIVE_CONTROL = "coercive_control"
    STALKING = "stalking"
    HONOUR_RELATED = "honour_related"
    CHILD_ABUSE = "child_abuse"
    ELDER_ABUSE = "elder_abuse"
    EXPLOITATION = "exploitation"
    DIGITAL = "digital"


# Plain tuples of the values, for code that indexes columns or validates input.
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
URGENCIES: tuple[str, ...] = tuple(u.value for u in Urgency)
TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)

HeadKind = Literal["multiclass", "binary", "multilabel"]
Calibration = Literal["temperature", "sigmoid", "platt_per_label"]


@dataclass(frozen=True)
class Head:
    """One predicted label.

    kind: multiclass (one of classes), binary (True/False) or multilabel (any subset of classes).
    calibration: how its scores are calibrated (see triage/estimator.py).
    explained: the prediction carries the features that pushed towards its label.
    reviewed: reviewers confirm or correct it, gold labels are resolved for it, and it can be
    overridden by an advisor (topics are reviewed but not overridden: see `overridable`).
    """

    name: str
    kind: HeadKind
    classes: tuple
    calibration: Calibration
    explained: bool
    reviewed: bool
    overridable: bool


HEAD_REGISTRY: tuple[Head, ...] = (
    Head("role", "multiclass", ROLES, "temperature", explained=True, reviewed=True, overridable=True),
    Head("minor", "binary", (False, True), "sigmoid", explained=True, reviewed=True, overridable=True),
    Head("urgency", "multiclass", URGENCIES, "temperature", explained=True, reviewed=True, overridable=True),
    Head("topics", "multilabel", TOPICS, "platt_per_label", explained=False, reviewed=True, overridable=False),
)
HEAD_BY_NAME: dict[str, Head] = {h.name: h for h in HEAD_REGISTRY}

HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY)
# Single-label heads (one label per opener): the ones explained, overridden and compared one to one.
SINGLE_LABEL_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.kind != "multilabel")
EXPLAINED_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.explained)
OVERRIDABLE_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.overridable)
# By kind: what scores, decisions, metrics and calibration look like differ per kind, not per head.
MULTICLASS_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.kind == "multiclass")
BINARY_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.kind == "binary")
MULTILABEL_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.kind == "multilabel")

# Lower rank = more urgent.
URGENCY_RANK: dict[str, int] = {u: i for i, u in enumerate(URGENCIES)}


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two urgency labels."""
    return a if URGENCY_RANK[a] <= URGENCY_RANK[b] else b


# Longest opener text accepted anywhere (CLI, API, training). Openers are the first messages of a
# chat; a longer text is almost certainly a pasted document, and spaCy cost grows with length.
MAX_TEXT_CHARS = 5000
