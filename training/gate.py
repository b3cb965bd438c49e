"""The quality gate with the corpus: the CLI's `triage models compare|activate` and `triage train --activate`.

The gate itself (its rules, the comparison, ACTIVE and the activation log) is in the core,
triage/versions/gate.py, which the service uses without training/. Here it predicts on the
project's held-out data (the seed test splits, the challenge set and, where given, reviewed gold
records) with both models, as the CLI always has.
"""

from __future__ import annotations

from pathlib import Path

from training.data import Example, held_out_sets, load_challenge, load_seed
from triage.artifacts import ArtifactError
from triage.versions import gate as _core
from triage.versions.gate import (ACTIVATION_LOG, MARGIN, Comparison, GateError,  # noqa: F401 - re-exported
                                  acute_f2)


def default_sets(gold: list[Example] | None = None) -> dict[str, list[Example]]:
    seed = load_seed()
    sets = {**held_out_sets(seed), "challenge set": load_challenge()}
    if gold:
        sets["reviewed gold records"] = gold
    return sets


def compare(root: Path, candidate: str, against: str | None = None,
            sets: dict[str, list[Example]] | None = None) -> Comparison:
    """Evaluate the active model (or `against`) and the candidate on the same data (the corpus by default)."""
    return _core.compare(root, candidate, against, sets if sets is not None else default_sets())


def activate(root: Path, candidate: str, *, force: bool = False, reason: str | None = None,
             sets: dict[str, list[Example]] | None = None, actor: str | None = None) -> Comparison:
    """Make candidate the active model if it passes the gate on the corpus (or is forced with a reason)."""
    if sets is None:
        _core.read_manifest(root / candidate)  # an unknown version fails before the corpus is read
        sets = default_sets()
    return _core.activate(root, candidate, force=force, reason=reason, sets=sets, actor=actor)


__all__ = ["ArtifactError", "Comparison", "GateError", "activate", "compare", "default_sets"]
