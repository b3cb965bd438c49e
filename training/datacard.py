"""Counts for the data card: `python -m training.datacard` rewrites the generated part of
training/data/DATACARD.md (between the GENERATED markers); a test checks it is current."""

from __future__ import annotations

import sys
from collections import Counter

from training.data import DATA_DIR, REAL_REGISTER_FILES, load_challenge, load_seed
from training.dedup import normalise, similar_pairs
from triage.labels import ROLES, TOPICS, URGENCIES

CARD = DATA_DIR / "DATACARD.md"
START, END = "<!-- GENERATED: python -m training.datacard -->", "<!-- END GENERATED -->"


def _cells(examples) -> list[str]:
    cells = Counter((e.role, e.urgency) for e in examples)
    lines = ["| role \\ urgency | " + " | ".join(URGENCIES) + " | total |", "|---" * (len(URGENCIES) + 2) + "|"]
    for role in ROLES:
        row = [cells[(role, u)] for u in URGENCIES]
        lines.append(f"| {role} | " + " | ".join(str(n) for n in row) + f" | {sum(row)} |")
    totals = [sum(cells[(r, u)] for r in ROLES) for u in URGENCIES]
    lines.append("| total | " + " | ".join(str(n) for n in totals) + f" | {sum(totals)} |")
    return lines


def generated() -> str:
    seed = load_seed()
    challenge = load_challenge()
    test = [e for e in seed if e.split == "test"]
    pairs = similar_pairs([e.text for e in seed])
    exact = sum(normalise(seed[i].text) == normalise(seed[j].text) for i, j, _ in pairs)
    out = [START, "", f"Seed corpus: **{len(seed)}** openers in {len({e.source for e in seed})} files "
           f"({len(seed) - len(test)} train, {len(test)} held-out test); challenge set: **{len(challenge)}**.", ""]
    out += ["### Seed corpus, role x urgency", ""] + _cells(seed) + [""]
    minors = sum(e.minor for e in seed)
    out += [f"Minors: {minors} ({minors / len(seed):.1%}); per role: " + ", ".join(
        f"{r} {sum(e.minor for e in seed if e.role == r)}" for r in ROLES) + ".", ""]
    out += ["Per file: " + ", ".join(f"{s} {n}" for s, n in sorted(Counter(e.source for e in seed).items())) + ".", ""]
    topics = Counter(t for e in seed for t in e.topics)
    out += ["Topics: " + ", ".join(f"{t} {topics[t]}" for t in TOPICS) + ".", ""]
    lengths = sorted(len(e.text.split()) for e in seed)
    out += [f"Length in words: median {lengths[len(lengths) // 2]}, 10th percentile {lengths[len(lengths) // 10]}, "
            f"90th percentile {lengths[len(lengths) * 9 // 10]}, max {lengths[-1]}.", ""]
    out += [f"Duplicates within the seed corpus (training/dedup.py): {exact} exact, {len(pairs) - exact} near "
            f"(character n-gram cosine >= 0.8); the split keeps each such group on one side, so 0 cross the split.", ""]
    real = [e for e in seed if e.source in REAL_REGISTER_FILES]
    if real:
        words = sorted(len(e.text.split()) for e in real)
        registers = Counter(e.register for e in real)
        out += ["### Real-register slices (S12-S29), role x urgency", ""] + _cells(real) + [""]
        out += [f"Minors: {sum(e.minor for e in real)}; English: {sum(e.lang == 'en' for e in real)}; length in words: "
                f"median {words[len(words) // 2]}, 10th percentile {words[len(words) // 10]}, 90th percentile "
                f"{words[len(words) * 9 // 10]}; registers: " + ", ".join(f"{r} {n}" for r, n in registers.most_common())
                + ".", ""]
    out += ["### Held-out test split, role x urgency", ""] + _cells(test) + [""]
    out += ["### Challenge set, role x urgency", ""] + _cells(challenge) + [""]
    cm = sum(e.minor for e in challenge)
    out += [f"Challenge minors: {cm} ({cm / max(1, len(challenge)):.1%}).", "", END]
    return "\n".join(out)


def main() -> int:
    text = CARD.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    CARD.write_text(head + generated() + tail, encoding="utf-8")
    print(f"updated {CARD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
