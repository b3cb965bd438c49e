"""Comparing model versions and the quality gate in front of activation.

A candidate may replace the active model only if, on the same held-out data (the seed test splits,
the challenge set and, where given, the reviewed gold records):

- its acute recall stays at or above the target (0.95), or, where the active model is below the
  target, at or above the active model's;
- its acute F2 (recall weighted four times precision: missing danger is the worst error, but an alarm
  for a third of all chats is no alarm) is not more than MARGIN below the active model's;
- it lets no more acute openers fall to normal or low than the active model;
- it is not more than MARGIN worse on role or urgency macro-F1.

A forced activation needs a reason and is recorded in the activation log next to the models.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from triage.artifacts import ArtifactError, active_version, read_manifest, set_active
from triage.model import TriageModel
from training.data import Example, held_out_sets, load_challenge, load_seed
from training.evaluate import TARGETS, evaluate

MARGIN = 0.02
ACTIVATION_LOG = "activations.jsonl"


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
                "failures": self.failures, "margin": MARGIN, "sets": rows}


def default_sets(gold: list[Example] | None = None) -> dict[str, list[Example]]:
    seed = load_seed()
    sets = {**held_out_sets(seed), "challenge set": load_challenge()}
    if gold:
        sets["reviewed gold records"] = gold
    return sets


def compare(root: Path, candidate: str, against: str | None = None,
            sets: dict[str, list[Example]] | None = None) -> Comparison:
    """Evaluate the active model (or `against`) and the candidate on the same data."""
    against = against or active_version(root)
    sets = sets if sets is not None else default_sets()
    models = {"candidate": TriageModel.load(root / candidate)}
    if against:
        models["active"] = TriageModel.load(root / against)
    result = Comparison(active=against, candidate=candidate)
    for name, examples in sets.items():
        if not examples:
            continue
        texts = [e.text for e in examples]
        gold = [e.labels() for e in examples]
        result.metrics[name] = {who: evaluate(gold, model.predict(texts)) for who, model in models.items()}
    if against:
        for name, pair in result.metrics.items():
            old, new = pair["active"], pair["candidate"]
            if not any(g == "acute" for g in (e.urgency for e in sets[name])):
                pass  # no acute opener in this set: recall and F2 say nothing
            else:
                result.failures += _acute_failures(name, old["urgency"], new["urgency"])
            for head in ("role", "urgency"):
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
             sets: dict[str, list[Example]] | None = None, actor: str | None = None) -> Comparison:
    """Make candidate the active model if it passes the gate (or is forced with a reason)."""
    read_manifest(root / candidate)  # a clear error for an unknown version before anything heavy
    if force and not (reason and reason.strip()):
        raise ValueError("a forced activation needs a reason")
    comparison = compare(root, candidate, sets=sets)
    if not comparison.passed and not force:
        raise GateError(comparison)
    set_active(root, candidate)
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": candidate,
             "previous": comparison.active, "passed_gate": comparison.passed, "forced": bool(force and not comparison.passed),
             "reason": reason, "failures": comparison.failures, "by": actor or _user(), "summary": comparison.summary()["sets"]}
    with open(root / ACTIVATION_LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return comparison


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


__all__ = ["ArtifactError", "Comparison", "GateError", "activate", "compare", "default_sets"]
