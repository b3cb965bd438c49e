"""Comparing model versions and the quality gate in front of activation.

A candidate may replace the active model only if, on the same held-out data:

- its acute recall stays at or above the target (0.95), or, where the active model is below the
  target, at or above the active model's;
- its acute F2 (recall weighted four times precision: missing danger is the worst error, but an alarm
  for a third of all chats is no alarm) is not more than MARGIN below the active model's;
- it lets no more acute openers fall to normal or low than the active model;
- it is not more than MARGIN worse on role or urgency macro-F1.

Two sources of figures (docs/model-versions.md):

- `sets`: labelled texts both models predict now (the CLI: the corpus's held-out sets and the
  challenge set from training/; the service: the reviewed gold records of its audit database);
- `recorded=True`: the metrics each model's training wrote into its manifest, for every held-out set
  both manifests name. The service uses these instead of the corpus, so that a server needs none.
  Where both manifests record a digest of a set's texts and labels (`eval_data`, written by
  training since this module exists) and the digests differ, the two figures were measured on
  different data: that set is not compared and is named in `not_compared`. A gate that compared
  nothing at all refuses (activation can still be forced with a reason).

A forced activation needs a reason and is recorded in the activation log next to the models.
This module is in the core so that api/ never imports training/; training/gate.py adds the corpus.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from triage.artifacts import active_version, read_manifest, set_active
from triage.labels import MULTICLASS_HEADS
from triage.versions.metrics import TARGETS, evaluate

MARGIN = 0.02
ACTIVATION_LOG = "activations.jsonl"
RECORDED = " (recorded at training)"  # suffix of a set whose figures come from the manifests


class Labelled(Protocol):
    text: str
    urgency: str

    def labels(self) -> dict: ...


@dataclass
class LabelledText:
    """A text with its gold labels (e.g. a reviewed audit record); training.data.Example extends it."""

    id: str
    text: str
    role: str
    minor: bool
    urgency: str
    topics: list[str]
    source: str = ""
    split: str = "test"

    def labels(self) -> dict:
        return {"role": self.role, "minor": self.minor, "urgency": self.urgency, "topics": self.topics}


class GateError(RuntimeError):
    """The candidate fails the quality gate (and activation was not forced with a reason)."""

    def __init__(self, comparison: "Comparison"):
        self.comparison = comparison
        super().__init__("refusing to activate " + comparison.candidate + ": " + "; ".join(comparison.failures))


@dataclass
class Comparison:
    active: str | None
    candidate: str
    metrics: dict = field(default_factory=dict)  # set name -> {"active": m, "candidate": m}
    failures: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)  # recorded sets measured on different data

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> dict:
        """The headline figures per set, for printing and for the API."""
        rows = {}
        for name, pair in self.metrics.items():
            rows[name] = {
                who: {"n": m["n"], "role_macro_f1": m["role"]["macro_f1"], "minor_f1": m["minor"]["f1"],
                      "urgency_macro_f1": m["urgency"]["macro_f1"], "acute_recall": m["urgency"]["acute_recall"],
                      "acute_precision": m["urgency"]["acute_precision"],
                      "share_called_acute": m["urgency"]["share_called_acute"],
                      "acute_as_normal_or_low": m["urgency"]["acute_as_normal_or_low"]}
                for who, m in pair.items()
            }
        return {"active": self.active, "candidate": self.candidate, "passed": self.passed,
                "failures": self.failures, "margin": MARGIN, "sets": rows, "not_compared": self.not_compared}


def set_digest(examples: Sequence[Labelled]) -> str:
    """sha256 of a set's texts and gold labels, independent of their order: training records it per
    evaluation set (manifest `eval_data`), so recorded metrics are compared only on the same data."""
    rows = sorted(json.dumps([e.text, e.labels()], ensure_ascii=False, sort_keys=True) for e in examples)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()


def recorded_metrics(root: Path, candidate: str, against: str) -> tuple[dict[str, dict], list[str]]:
    """({set name: {"active": m, "candidate": m}}, [sets measured on different data]) from the two
    manifests, for the sets both name. A set one model was not evaluated on is left out: there is
    nothing to compare it with."""
    old_manifest, new_manifest = read_manifest(root / against), read_manifest(root / candidate)
    old, new = old_manifest.get("metrics", {}), new_manifest.get("metrics", {})
    old_data, new_data = old_manifest.get("eval_data") or {}, new_manifest.get("eval_data") or {}
    pairs, different = {}, []
    for name in new:
        if name not in old or not (_usable(old[name]) and _usable(new[name])):
            continue
        if name in old_data and name in new_data and old_data[name] != new_data[name]:
            different.append(name)
            continue
        pairs[name + RECORDED] = {"active": old[name], "candidate": new[name]}
    return pairs, different


def _usable(m: object) -> bool:
    try:
        return bool(m["n"]) and "acute_recall" in m["urgency"] and "macro_f1" in m["role"]  # type: ignore[index]
    except (KeyError, TypeError):
        return False


def _has_acute(m: dict) -> bool:
    return m["urgency"].get("per_class", {}).get("acute", {}).get("support", 0) > 0


def compare(root: Path, candidate: str, against: str | None = None,
            sets: dict[str, Sequence[Labelled]] | None = None, *, recorded: bool = False) -> Comparison:
    """Evaluate the active model (or `against`) and the candidate on the same data: `sets` predicted
    now, and with `recorded` the metrics in their manifests."""
    from triage.model import TriageModel  # loaded only when there is something to predict

    against = against or active_version(root)
    read_manifest(root / candidate)  # a clear error for an unknown version
    result = Comparison(active=against, candidate=candidate)
    if recorded and against:
        pairs, result.not_compared = recorded_metrics(root, candidate, against)
        result.metrics.update(pairs)
    live = {name: examples for name, examples in (sets or {}).items() if examples}
    if live:
        models = {"candidate": TriageModel.load(root / candidate)}
        if against:
            models["active"] = TriageModel.load(root / against)
        for name, examples in live.items():
            texts = [e.text for e in examples]
            gold = [e.labels() for e in examples]
            result.metrics[name] = {who: evaluate(gold, model.predict(texts)) for who, model in models.items()}
    if against and not result.metrics:
        result.failures.append("no held-out set to compare the candidate with the active model on"
                               + (f" (measured on different data: {', '.join(result.not_compared)})"
                                  if result.not_compared else ""))
    if against:
        for name, pair in result.metrics.items():
            old, new = pair["active"], pair["candidate"]
            if _has_acute(new):  # no acute opener in this set: recall and F2 say nothing
                result.failures += _acute_failures(name, old["urgency"], new["urgency"])
            for head in MULTICLASS_HEADS:
                if new[head]["macro_f1"] < old[head]["macro_f1"] - MARGIN:
                    result.failures.append(f"{name}: {head} macro-F1 {new[head]['macro_f1']:.3f} is more than "
                                           f"{MARGIN} below {old[head]['macro_f1']:.3f}")
    return result


def acute_f2(urgency: dict) -> float:
    p, r = urgency["acute_precision"], urgency["acute_recall"]
    return 5 * p * r / (4 * p + r) if p + r else 0.0


def _acute_failures(name: str, old: dict, new: dict) -> list[str]:
    failures = []
    target = TARGETS["acute_recall"]
    if new["acute_recall"] < min(target, old["acute_recall"]):
        failures.append(f"{name}: acute recall {new['acute_recall']:.3f} is below the target {target} "
                        f"or the active model's {old['acute_recall']:.3f}")
    if acute_f2(new) < acute_f2(old) - MARGIN:
        failures.append(f"{name}: acute F2 {acute_f2(new):.3f} is more than {MARGIN} below {acute_f2(old):.3f}")
    if new["acute_as_normal_or_low"] > old["acute_as_normal_or_low"]:
        failures.append(f"{name}: {new['acute_as_normal_or_low']} acute openers predicted normal or low "
                        f"(active model: {old['acute_as_normal_or_low']})")
    return failures


def activate(root: Path, candidate: str, *, force: bool = False, reason: str | None = None,
             sets: dict[str, Sequence[Labelled]] | None = None, recorded: bool = False,
             actor: str | None = None) -> Comparison:
    """Make candidate the active model if it passes the gate (or is forced with a reason)."""
    read_manifest(root / candidate)  # a clear error for an unknown version before anything heavy
    if force and not (reason and reason.strip()):
        raise ValueError("a forced activation needs a reason")
    comparison = compare(root, candidate, sets=sets, recorded=recorded)
    if not comparison.passed and not force:
        raise GateError(comparison)
    set_active(root, candidate)
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": candidate,
             "previous": comparison.active, "passed_gate": comparison.passed, "forced": bool(force and not comparison.passed),
             "reason": reason, "failures": comparison.failures, "by": actor or _user(), "summary": comparison.summary()["sets"]}
    with open(root / ACTIVATION_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return comparison


def read_activations(root: Path, last: int = 10) -> list[dict]:
    """The last entries of the activation log (a line that is no JSON is skipped)."""
    path = root / ACTIVATION_LOG
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines()[-last:]:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
