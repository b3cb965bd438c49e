"""Check a labelled corpus file while it is being written: schema, ids, duplicates, label counts.

    python -m training.validate training/data/seed/S12.jsonl [...]
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from pathlib import Path

from training.data import load_examples, seed_files
from training.dedup import similar_pairs
from training.schema import DataError


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: python -m training.validate FILE.jsonl [...]", file=sys.stderr)
        return 2
    try:
        examples = load_examples(paths)
    except DataError as exc:
        print(exc, file=sys.stderr)
        return 1
    problems = []
    ids = Counter(e.id for e in examples)
    problems += [f"id {i} is used {n} times" for i, n in ids.items() if n > 1]
    for e in examples:
        if e.role == "unknown" and e.urgency in ("acute", "high"):
            problems.append(f"{e.id}: role unknown goes only with low or normal")
    mine = [p.resolve() for p in paths]
    others = load_examples([p for p in seed_files() if p.resolve() not in mine])
    for i, j, sim in similar_pairs([e.text for e in examples]):
        problems.append(f"{examples[i].id} and {examples[j].id} are near-duplicates ({sim:.2f})")
    for i, j, sim in similar_pairs([e.text for e in examples], [e.text for e in others]):
        problems.append(f"{examples[i].id} is a near-duplicate of {others[j].id} ({sim:.2f})")
    words = [len(e.text.split()) for e in examples]
    print(f"{len(examples)} items; words median {statistics.median(words):.0f}, min {min(words)}, max {max(words)}")
    for head in ("role", "urgency"):
        print(f"{head}: " + ", ".join(f"{k} {v}" for k, v in Counter(getattr(e, head) for e in examples).most_common()))
    print(f"minor: {sum(e.minor for e in examples)}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
