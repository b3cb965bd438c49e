"""The seed corpus, its train/test split and the challenge set."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from training.schema import LabelledOpener, load_labelled

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_DIR = DATA_DIR / "seed"
CHALLENGE = DATA_DIR / "challenge.jsonl"
SPLIT_FILE = DATA_DIR / "split.json"
TEST_FRACTION_FOLDS = 5  # one fold of five is held out: 20 %
SPLIT_SEED = 13


@dataclass
class Example:
    """A validated example with its provenance."""

    id: str
    text: str
    role: str
    minor: bool
    urgency: str
    topics: list[str]
    source: str
    split: str = "train"
    kind: str = "opener"  # or "transcript": the opener was cut from a labelled transcript

    @classmethod
    def from_record(cls, record: LabelledOpener, fallback_id: str) -> "Example":
        extra = record.__pydantic_extra__ or {}
        return cls(record.id or fallback_id, record.text, record.role, record.minor, record.urgency,
                   list(record.topics), str(extra.get("source", "")), kind=str(extra.get("kind", "opener")))

    def labels(self) -> dict:
        return {"role": self.role, "minor": self.minor, "urgency": self.urgency, "topics": self.topics}


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*.jsonl"))


def load_examples(paths: list[Path], max_client_messages: int | None = None) -> list[Example]:
    records = load_labelled(paths, max_client_messages)
    out = []
    for n, r in enumerate(records):
        extra = r.__pydantic_extra__ or {}
        out.append(Example.from_record(r, f"{extra.get('source', 'data')}:{extra.get('line', n + 1)}"))
    return out


def load_seed() -> list[Example]:
    """The seed corpus with each example's split from split.json."""
    examples = load_examples(seed_files())
    test_ids = set(json.loads(SPLIT_FILE.read_text(encoding="utf-8"))["test"]) if SPLIT_FILE.is_file() else set()
    for e in examples:
        e.split = "test" if e.id in test_ids else "train"
    return examples


def load_challenge() -> list[Example]:
    return load_examples([CHALLENGE]) if CHALLENGE.is_file() else []


def make_split(examples: list[Example]) -> list[str]:
    """Test ids: one fold of a stratified (role x urgency) split that keeps near-duplicates together."""
    from training.dedup import duplicate_groups

    groups = duplicate_groups([e.text for e in examples])
    strata = np.asarray([f"{e.role}|{e.urgency}|{int(e.minor)}" for e in examples])
    folds = StratifiedGroupKFold(n_splits=TEST_FRACTION_FOLDS, shuffle=True, random_state=SPLIT_SEED)
    _, test_idx = next(folds.split(np.zeros(len(examples)), strata, groups))
    return sorted(examples[i].id for i in test_idx)


def main(argv: list[str] | None = None) -> int:
    """Write split.json for the current seed corpus."""
    examples = load_examples(seed_files())
    ids = [e.id for e in examples]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    if dupes:
        print(f"duplicate ids in the seed corpus: {dupes[:10]}", file=sys.stderr)
        return 1
    test = make_split(examples)
    SPLIT_FILE.write_text(json.dumps({"seed": SPLIT_SEED, "folds": TEST_FRACTION_FOLDS, "test": test}, indent=0) + "\n",
                          encoding="utf-8")
    print(f"{len(test)} of {len(examples)} openers held out for test -> {SPLIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
