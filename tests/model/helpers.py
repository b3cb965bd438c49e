"""Shared helpers for the model tests."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from training.data import Example, load_seed

ROOT = Path(__file__).resolve().parents[2]


def run_triage(*args, input_text=None, env=None, check=True) -> subprocess.CompletedProcess:
    """The `triage` command in a subprocess, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "triage_cli.main", *args], input=input_text, capture_output=True,
                          text=True, cwd=ROOT, timeout=900, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"triage {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def sample_training_split(per_cell: int, seed: int) -> list[Example]:
    """Up to per_cell examples of every role x urgency cell of the seed training split."""
    rng = random.Random(seed)
    cells: dict = {}
    for e in load_seed():
        if e.split == "train":
            cells.setdefault((e.role, e.urgency), []).append(e)
    return [e for cell in cells.values() for e in rng.sample(cell, min(len(cell), per_cell))]
