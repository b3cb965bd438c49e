"""What each corpus slice does: the model trained without one slice at a time, scored on the evaluation sets.

    python -m training.ablation [--slices S12 S13 ...] [--sets real_dev "challenge set"]

Each variant is the full estimator (features and calibrated heads) fitted on the training split minus one
slice, with the deployment-prior correction and the urgency policy of the full model (refitting those per
variant would mix their effect into the slice's). Prints, per set, the full model and the change without each
slice; a negative change means the slice helps. Takes about a minute per slice on 2 cores.
"""

from __future__ import annotations

import argparse
import sys

from triage.backends import make_backend, manifest_backend
from triage.labels import HEADS
from triage.model import TriageModel
from triage.nlp import load_pipeline
from triage.settings import get_settings
from training.data import REAL_REGISTER_FILES, held_out_sets, load_challenge, load_real_dev, load_seed
from training.evaluate import HEADLINE, evaluate

COLUMNS = ("role macro-F1", "minor F1", "urgency macro-F1", "acute recall", "acute precision", "share called acute",
           "severe recall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", nargs="+", default=sorted(REAL_REGISTER_FILES))
    parser.add_argument("--sets", nargs="+", default=None, help="evaluation sets (default: all)")
    args = parser.parse_args(argv)

    settings = get_settings()
    full = TriageModel.load(settings=settings)
    nlp = load_pipeline(settings.spacy_model)
    seed = load_seed()
    train = [e for e in seed if e.split == "train"]
    sets = {**held_out_sets(seed), "challenge set": load_challenge(), "real_dev": load_real_dev()}
    sets = {k: v for k, v in sets.items() if v and (args.sets is None or k in args.sets)}
    # Corpus texts, not chat text: no memory zone needed (and TriageModel() may not run inside one).
    train_docs = list(nlp.pipe([e.text for e in train], batch_size=128))
    set_docs = {k: list(nlp.pipe([e.text for e in v], batch_size=128)) for k, v in sets.items()}
    rows: dict[str, dict[str, dict]] = {}
    variants = {"full model": set(), "first corpus only": set(REAL_REGISTER_FILES),
                **{f"without {s}": {s} for s in args.slices}}
    for variant, drop in variants.items():
        if not drop:
            model = full
        else:
            keep = [i for i, e in enumerate(train) if e.source not in drop]
            labels = {h: [getattr(train[i], h) for i in keep] for h in HEADS}
            estimator = make_backend(manifest_backend(full.manifest)).fit([train_docs[i] for i in keep], labels)
            model = TriageModel({"estimator": estimator, "urgency_policy": full.urgency_policy,
                                 "prior_shift": full.prior_shift}, full.manifest, settings)
        rows[variant] = {name: evaluate([e.labels() for e in sets[name]], model.predict_docs(docs))
                         for name, docs in set_docs.items()}
        print(f"[ablation] {variant} done", file=sys.stderr, flush=True)
    getters = dict(HEADLINE)
    for name in sets:
        print(f"\n== {name} (n={len(sets[name])}) ==")
        print(f"{'':<18}" + "".join(f"{c[:14]:>16}" for c in COLUMNS))
        base = rows["full model"][name]
        for variant, per_set in rows.items():
            m = per_set[name]
            cells = []
            for c in COLUMNS:
                value, ref = getters[c](m), getters[c](base)
                if value is None:
                    cells.append(f"{'-':>16}")
                elif variant == "full model":
                    cells.append(f"{value:>16.3f}")
                else:
                    cells.append(f"{value - ref:>+16.3f}")
            print(f"{variant:<18}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
