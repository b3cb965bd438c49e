"""The seed corpus, its train/test split and the challenge set."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from training.schema import LabelledOpener, load_labelled
from triage.versions.gate import LabelledText

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_DIR = DATA_DIR / "seed"
CHALLENGE = DATA_DIR / "challenge.jsonl"
SPLIT_FILE = DATA_DIR / "split.json"
# Real public texts for measuring only (never trained on), where the project's shared folder has them.
REAL_DEV = DATA_DIR.parents[2] / "shared" / "eval" / "real_dev.jsonl"
TEST_FRACTION_FOLDS = 5  # one fold of five is held out: 20 %
SPLIT_SEED = 13


@dataclass
class Example(LabelledText):
    """A validated example with its provenance (source: the corpus file or input it came from)."""

    split: str = "train"
    kind: str = "opener"  # or "transcript": the opener was cut from a labelled transcript
    register: str = ""  # forum, advice_letter, chat, ... or the site a real text was published on
    lang: str = "nl"

    @classmethod
    def from_record(cls, record: LabelledOpener, fallback_id: str) -> "Example":
        extra = record.__pydantic_extra__ or {}
        register = str(extra.get("register") or _site(str(extra.get("origin") or "")))
        return cls(record.id or fallback_id, record.text, record.role, record.minor, record.urgency,
                   list(record.topics), str(extra.get("source", "")), kind=str(extra.get("kind", "opener")),
                   register=register, lang=str(extra.get("lang") or "nl"))


def _site(origin: str) -> str:
    """'forum.example.nl' for 'https://www.forum.example.nl/...'; '' when origin is no URL."""
    host = urlsplit(origin).hostname or ""
    return host.removeprefix("www.")


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*.jsonl"))


def load_examples(paths: list[Path], max_client_messages: int | None = None) -> list[Example]:
    records = load_labelled(paths, max_client_messages)
    out = []
    for n, r in enumerate(records):
        extra = r.__pydantic_extra__ or {}
        out.append(Example.from_record(r, f"{extra.get('source', 'data')}:{extra.get('line', n + 1)}"))
    return out


# The files written in real registers (REAL_REGISTER_BRIEF.md); their held-out part is reported as its own set.
REAL_REGISTER_FILES = frozenset(f"S{n}" for n in range(12, 30))


def load_seed() -> list[Example]:
    """The seed corpus with each example's split from split.json."""
    examples = load_examples(seed_files())
    test_ids = set(json.loads(SPLIT_FILE.read_text(encoding="utf-8"))["test"]) if SPLIT_FILE.is_file() else set()
    for e in examples:
        e.split = "test" if e.id in test_ids else "train"
    return examples


def held_out_sets(seed: list[Example]) -> dict[str, list[Example]]:
    """The held-out test split of the first corpus, and that of the real-register slices."""
    test = [e for e in seed if e.split == "test"]
    sets = {"held-out test split": [e for e in test if e.source not in REAL_REGISTER_FILES]}
    real = [e for e in test if e.source in REAL_REGISTER_FILES]
    if real:
        sets["held-out real-register split"] = real
    return sets


def load_challenge() -> list[Example]:
    return load_examples([CHALLENGE]) if CHALLENGE.is_file() else []


def load_real_dev() -> list[Example]:
    return load_examples([REAL_DEV]) if REAL_DEV.is_file() else []


def make_split(examples: list[Example]) -> list[str]:
    """Test ids: one fold of a stratified (role x urgency) split that keeps near-duplicates together."""
    from training.dedup import duplicate_groups

    groups = duplicate_groups([e.text for e in examples])
    strata = np.asarray([f"{e.role}|{e.urgency}|{int(e.minor)}" for e in examples])
    folds = StratifiedGroupKFold(n_splits=TEST_FRACTION_FOLDS, shuffle=True, random_state=SPLIT_SEED)
    _, test_idx = next(folds.split(np.zeros(len(examples)), strata, groups))
    return sorted(examples[i].id for i in test_idx)


def main(argv: list[str] | None = None) -> int:
    """Extend split.json to the seed files it does not cover yet (`--all` splits everything anew).

    Files already split keep their test ids, so adding a slice never moves an opener the model was
    evaluated on into training."""
    examples = load_examples(seed_files())
    ids = [e.id for e in examples]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    if dupes:
        print(f"duplicate ids in the seed corpus: {dupes[:10]}", file=sys.stderr)
        return 1
    old = json.loads(SPLIT_FILE.read_text(encoding="utf-8")) if SPLIT_FILE.is_file() and "--all" not in (argv or sys.argv[1:]) else {}
    test = list(old.get("test", []))
    covered = set(old.get("files") or {t.rsplit("-", 1)[0] for t in test})
    new = [e for e in examples if e.source not in covered]
    if new:
        test = sorted(set(test) | set(make_split(new)))
    files = sorted(covered | {e.source for e in examples})
    SPLIT_FILE.write_text(json.dumps({"seed": SPLIT_SEED, "folds": TEST_FRACTION_FOLDS, "files": files, "test": test},
                                     indent=0) + "\n", encoding="utf-8")
    print(f"{len(test)} of {len(examples)} openers held out for test ({len(new)} newly split) -> {SPLIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
