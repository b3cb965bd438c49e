"""Speed and memory of the triage model against the bare spaCy pipeline, measured in one run.

    .venv/bin/python benchmarks/model_bench.py [--rounds 5] [--single 400] [--batch 10000]

Targets (model issue): single-opener prediction <= 1.5x the bare spaCy pipeline call on the same
texts; batch prediction of 10,000 openers >= 0.8x the throughput of nlp.pipe alone; peak memory
of a loaded model <= 500 MB. The bare pipeline is `spacy.load(name)` with all its components;
triage's own pipeline leaves out the tagger it does not read (triage/nlp.py). Figures are medians
over rounds, and the ratios are computed per round and then the median taken.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "training" / "data" / "seed").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). ru_maxrss is not used: on Linux it keeps the
    parent's high-water mark across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory_mb() -> float:
    """Peak RSS of a fresh process that loads the active model and predicts 1,000 openers."""
    code = (
        "import json,resource,sys; sys.path.insert(0, %r)\n"
        "from triage.model import TriageModel\n"
        "from benchmarks.model_bench import corpus_texts, peak_rss_mb\n"
        "m = TriageModel.load(); t = corpus_texts()[:1000]\n"
        "m.predict(t); [m.predict_one(x) for x in t[:100]]\n"
        "print(peak_rss_mb())\n" % str(ROOT)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--single", type=int, default=400, help="openers timed one by one per round")
    parser.add_argument("--batch", type=int, default=10000, help="openers per batch round")
    args = parser.parse_args(argv)

    import spacy

    from triage.model import TriageModel

    model = TriageModel.load()
    bare = spacy.load(model.pipeline_name)
    texts = corpus_texts()
    single = texts[: args.single]
    batch = list(itertools.islice(itertools.cycle(texts), args.batch))
    print(f"model {model.version}, pipeline {model.pipeline_label}; {len(texts)} corpus openers, "
          f"mean {statistics.mean(len(t) for t in texts):.0f} characters")

    for t in single[:50]:  # warm-up
        bare(t)
        model.predict_one(t)

    single_ratios, bare_ms, model_ms = [], [], []
    for _ in range(args.rounds):
        b, m = [], []
        for t in single:
            t0 = time.perf_counter()
            bare(t)
            t1 = time.perf_counter()
            model.predict_one(t)
            t2 = time.perf_counter()
            b.append(t1 - t0)
            m.append(t2 - t1)
        bare_ms.append(statistics.median(b) * 1000)
        model_ms.append(statistics.median(m) * 1000)
        single_ratios.append(sum(m) / sum(b))

    batch_ratios, bare_tp, model_tp = [], [], []
    for _ in range(max(2, args.rounds // 2)):
        t0 = time.perf_counter()
        for _doc in bare.pipe(batch, batch_size=64):
            pass
        t1 = time.perf_counter()
        model.predict(batch, batch_size=64)
        t2 = time.perf_counter()
        bare_tp.append(len(batch) / (t1 - t0))
        model_tp.append(len(batch) / (t2 - t1))
        batch_ratios.append(bare_tp[-1] and model_tp[-1] / bare_tp[-1])

    memory = peak_memory_mb()
    single_ratio = statistics.median(single_ratios)
    batch_ratio = statistics.median(batch_ratios)
    print(f"single opener: bare nlp(text) median {statistics.median(bare_ms):.2f} ms, triage predict_one median "
          f"{statistics.median(model_ms):.2f} ms; time ratio (median of {args.rounds} rounds) {single_ratio:.2f}x "
          f"[target <= 1.5x: {'met' if single_ratio <= 1.5 else 'MISSED'}]")
    print(f"batch of {len(batch)}: nlp.pipe {statistics.median(bare_tp):.0f} openers/s, triage predict "
          f"{statistics.median(model_tp):.0f} openers/s; throughput ratio {batch_ratio:.2f}x "
          f"[target >= 0.8x: {'met' if batch_ratio >= 0.8 else 'MISSED'}]")
    print(f"peak memory of a loaded model predicting 1,000 openers: {memory:.0f} MB "
          f"[target <= 500 MB: {'met' if memory <= 500 else 'MISSED'}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
