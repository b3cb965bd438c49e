"""Recall and false removals of `triage.redact` on the hand-written PII set, plus its speed.

    python -m training.redaction_report [--cases tests/data/pii_cases.jsonl]

- recall per type: a PII value counts as found when every one of its characters is covered by a
  span of any type (nothing of it survives in the redacted text); "typed" also needs the right type.
- false removals: share of the word tokens outside every PII value that a span touches, and how
  many of the sentences without PII were changed at all.
- speed: median and p95 ms per text over the seed corpus openers (realistic lengths), after a
  warm-up, and for the PII set.
- with --cues: whether the red flags and cue features of the spaCy pipeline are the same on the
  redacted text as on the original (for every text that redaction changed).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.redact import PII_TYPES, Redaction, load, redact

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "pii_cases.jsonl"
SEED_DIR = ROOT / "training" / "data" / "seed"
_TOKEN = re.compile(r"\w+")


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    while (i := text.find(value, pos)) >= 0:
        out.append((i, i + len(value)))
        pos = i + len(value)
    if not out:
        raise ValueError(f"PII value not in its text: {value!r}")
    return out


@dataclass
class Scores:
    total: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    typed: Counter = field(default_factory=Counter)
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # (type, value, redacted text)
    mistyped: list[tuple[str, str, str]] = field(default_factory=list)
    non_pii_tokens: int = 0
    removed_tokens: Counter = field(default_factory=Counter)  # non-PII token -> times removed
    clean_cases: int = 0
    clean_changed: list[str] = field(default_factory=list)

    def recall(self, kind: str | None = None) -> float:
        if kind is None:
            return sum(self.found.values()) / max(1, sum(self.total.values()))
        return self.found[kind] / max(1, self.total[kind])

    @property
    def false_removal_rate(self) -> float:
        return sum(self.removed_tokens.values()) / max(1, self.non_pii_tokens)


def evaluate(cases: Iterable[dict], fn: Callable[[str], Redaction] = redact) -> Scores:
    scores = Scores()
    for case in cases:
        text = case["text"]
        result = fn(text)
        covered = [False] * len(text)
        kinds: list[set[str]] = [set() for _ in text]
        for kind, s, e in result.spans:
            for i in range(s, e):
                covered[i] = True
                kinds[i].add(kind)
        in_pii = [False] * len(text)
        for item in case["pii"]:
            kind = item["type"]
            for s, e in _occurrences(text, item["value"]):
                scores.total[kind] += 1
                chars = [i for i in range(s, e) if not text[i].isspace()]
                for i in range(s, e):
                    in_pii[i] = True
                if all(covered[i] for i in chars):
                    scores.found[kind] += 1
                    if all(kind in kinds[i] for i in chars):
                        scores.typed[kind] += 1
                    else:
                        scores.mistyped.append((kind, item["value"], result.text))
                else:
                    scores.missed.append((kind, item["value"], result.text))
        for m in _TOKEN.finditer(text):
            if any(in_pii[m.start():m.end()]):
                continue
            scores.non_pii_tokens += 1
            if any(covered[m.start():m.end()]):
                scores.removed_tokens[m.group()] += 1
        if not case["pii"]:
            scores.clean_cases += 1
            if result.text != text:
                scores.clean_changed.append(result.text)
    return scores


def timing(texts: list[str], fn: Callable[[str], Redaction] = redact) -> tuple[float, float]:
    """Median and p95 milliseconds per text."""
    times = []
    for text in texts:
        t = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def seed_openers(limit: int = 500) -> list[str]:
    texts: list[str] = []
    for path in sorted(SEED_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts[:limit]


def cue_effect(texts: list[str]) -> None:
    """Prints how often red flags and cue features survive redaction (needs the spaCy pipeline)."""
    from triage.nlp import load_pipeline
    from triage.settings import Settings

    nlp = load_pipeline(Settings().spacy_model)
    pairs = [(t, r) for t in texts if (r := redact(t).text) != t]
    flags = cues = cues_no_len = 0
    changed: Counter = Counter()
    for before, after in zip(nlp.pipe(p[0] for p in pairs), nlp.pipe(p[1] for p in pairs)):
        flags += sorted(f.cue for f in before._.red_flags) == sorted(f.cue for f in after._.red_flags)
        cues += before._.cues == after._.cues
        a, b = ({k: v for k, v in d._.cues.items() if not k.startswith("len=")} for d in (before, after))
        cues_no_len += a == b
        changed.update(k for k in set(a) ^ set(b))
    n = max(1, len(pairs))
    print(f"cues: {len(pairs)} texts changed by redaction; red flags identical in {flags / n:.1%}, "
          f"all cue features in {cues / n:.1%}, all but the length bucket in {cues_no_len / n:.1%}")
    if changed:
        print("  cue features that differ most:", ", ".join(f"{k} ({v})" for k, v in changed.most_common(8)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--cues", action="store_true", help="also compare red flags and cue features before/after")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    load()
    load_s = time.perf_counter() - t
    cases = load_cases(args.cases)
    scores = evaluate(cases)

    print(f"PII set: {args.cases.name}, {len(cases)} sentences, {sum(scores.total.values())} PII values, "
          f"{scores.clean_cases} sentences without PII")
    print(f"{'type':<15}{'n':>5}{'recall':>9}{'typed':>8}")
    for kind in PII_TYPES:
        if scores.total[kind]:
            n = scores.total[kind]
            print(f"{kind:<15}{n:>5}{scores.recall(kind):>9.3f}{scores.typed[kind] / n:>8.3f}")
    print(f"{'overall':<15}{sum(scores.total.values()):>5}{scores.recall():>9.3f}"
          f"{sum(scores.typed.values()) / max(1, sum(scores.total.values())):>8.3f}")
    print(f"false removals: {sum(scores.removed_tokens.values())} of {scores.non_pii_tokens} non-PII tokens "
          f"({scores.false_removal_rate:.2%}); no-PII sentences changed: "
          f"{len(scores.clean_changed)} of {scores.clean_cases}")
    if scores.removed_tokens:
        print("  removed non-PII tokens:", ", ".join(f"{w} ({n})" for w, n in scores.removed_tokens.most_common(15)))
    for kind, value, redacted in scores.missed:
        print(f"  missed {kind}: {value!r} -> {redacted!r}")
    for kind, value, redacted in scores.mistyped:
        print(f"  found but typed otherwise {kind}: {value!r} -> {redacted!r}")
    for redacted in scores.clean_changed:
        print(f"  changed: {redacted!r}")

    openers = seed_openers()
    print(f"speed: deduce load {load_s:.1f} s (once per process)")
    if openers:
        timing(openers[:20])  # warm-up
        med, p95 = timing(openers)
        mean_len = statistics.mean(len(t) for t in openers)
        print(f"speed: {med:.2f} ms median, {p95:.2f} ms p95 per opener "
              f"({len(openers)} seed openers, mean {mean_len:.0f} chars)")
    med, p95 = timing([c["text"] for c in cases])
    print(f"speed: {med:.2f} ms median, {p95:.2f} ms p95 per PII-set sentence")
    if args.cues:
        cue_effect(openers + [c["text"] for c in cases])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
