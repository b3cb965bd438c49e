"""Training a triage model and writing its versioned directory (artifact, manifest, report)."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np
import sklearn
import spacy
from sklearn.model_selection import StratifiedGroupKFold

from triage import __version__
from triage.artifacts import REPORT, active_version, save_artifact, set_active
from triage.backends import DEFAULT_BACKEND, make_backend
from triage.labels import HEADS, MULTICLASS_HEADS, URGENCIES
from triage.features import doc_text
from triage.language import detect_language
from triage.model import TriageModel, now_possible
from triage.nlp import load_pipeline, pipeline_info
from triage.priors import PriorShift
from triage.settings import Settings, get_settings
from triage.versions.gate import set_digest
from training.baseline import PlainBaseline, save_baseline
from training.data import Example, held_out_sets, load_challenge, load_examples, load_real_dev, load_seed
from training.dedup import duplicate_groups
from training.evaluate import breakdowns, evaluate, targets_for
from training.report import render_report
from training.tuning import deployment_weights, floor_ranks, tune_urgency_policy


def log(message: str) -> None:
    print(f"[triage train] {message}", file=sys.stderr, flush=True)


def data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.text, e.labels()], ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def parse(nlp, texts: list[str], what: str) -> list:
    from tqdm import tqdm

    return list(tqdm(nlp.pipe(texts, batch_size=128), total=len(texts), desc=f"parsing {what}", unit="opener",
                     file=sys.stderr, mininterval=1.0, disable=None))


def label_counts(examples: list[Example]) -> dict[str, int]:
    counts: Counter = Counter()
    for e in examples:
        counts[f"role={e.role}"] += 1
        counts[f"urgency={e.urgency}"] += 1
        counts[f"role x urgency={e.role}/{e.urgency}"] += 1
        counts["minor=true" if e.minor else "minor=false"] += 1
    return dict(sorted(counts.items()))


def train(data: list[Path] | None = None, out: Path | None = None, eval_sets: dict[str, list[Path]] | None = None,
          activate: bool | None = None, settings: Settings | None = None, with_seed: bool = False,
          max_client_messages: int | None = None, backend: str = DEFAULT_BACKEND) -> Path:
    """Train on the given files (default: the seed corpus's training split) and write a model dir.

    Files may hold openers or transcripts (training/schema.py). with_seed adds the seed corpus's
    training split to the given files, and the held-out split and challenge set to the evaluation
    sets. `backend` names the model backend (triage.backends.BACKENDS). Returns the model directory.
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    estimator = make_backend(backend)  # an unknown name fails here, before any data is read
    if data:
        train_examples = load_examples(list(data), max_client_messages)  # validates every line first
        named_eval = {name: load_examples(paths) for name, paths in (eval_sets or {}).items()}
        if with_seed:
            seed = load_seed()
            train_examples = [e for e in seed if e.split == "train"] + train_examples
            named_eval = {**held_out_sets(seed), "challenge set": load_challenge(), **named_eval}
    else:
        seed = load_seed()
        train_examples = [e for e in seed if e.split == "train"]
        named_eval = held_out_sets(seed)
        challenge = load_challenge()
        if challenge:
            named_eval["challenge set"] = challenge
        for name, paths in (eval_sets or {}).items():
            named_eval[name] = load_examples(paths)
    real_dev = load_real_dev()
    if real_dev:
        named_eval.setdefault("real_dev", real_dev)
    log(f"{len(train_examples)} training examples from {len(Counter(e.source for e in train_examples))} source(s); "
        f"evaluation sets: {', '.join(f'{k} ({len(v)})' for k, v in named_eval.items()) or 'none'}")

    nlp = load_pipeline(settings.spacy_model)
    info = pipeline_info(nlp, settings.spacy_model)
    docs = parse(nlp, [e.text for e in train_examples], "training data")
    labels = {head: [getattr(e, head) for e in train_examples] for head in HEADS}

    log(f"fitting features and heads ({estimator.name} backend)")
    t0 = time.perf_counter()
    estimator.fit(docs, labels)
    log(f"fitted {estimator.n_features_} features x {len(HEADS)} heads in {time.perf_counter() - t0:.1f} s")

    log("correcting for deployment priors and tuning urgency thresholds on out-of-fold predictions")
    groups = duplicate_groups([e.text for e in train_examples])
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=7)
    strata = [f"{u}|{r}" for u, r in zip(labels["urgency"], labels["role"])]
    splits = list(folds.split(np.zeros(len(docs)), strata, groups))
    oof_proba = estimator.out_of_fold_proba(docs, labels, splits, MULTICLASS_HEADS)
    oof = {head: (oof_proba[head], list(estimator.classes_[head])) for head in MULTICLASS_HEADS}
    prior_shift = PriorShift.fit(oof, labels, settings.deployment_priors)
    urgency_oof = prior_shift.apply("urgency", *oof["urgency"])
    order = [oof["urgency"][1].index(u) for u in URGENCIES]
    policy, tuning = tune_urgency_policy(
        urgency_oof[:, order], floor_ranks([d._.red_flags for d in docs]), labels["urgency"],
        weights=deployment_weights(labels["urgency"], prior_shift.deployment["urgency"]),
        alert_budget=settings.acute_alert_budget,
        now_possible=np.array([now_possible(d, detect_language(doc_text(d))[0]) for d in docs]))
    log(f"urgency policy: {policy}; out-of-fold acute recall {tuning['oof_acute_recall']}, share called acute at "
        f"deployment priors {tuning['oof_share_acute_at_deployment_priors']} (budget {settings.acute_alert_budget})")

    payload = {"estimator": estimator, "urgency_policy": policy, "prior_shift": prior_shift, "format": 1}
    hash_ = data_hash(train_examples)
    created = datetime.now(timezone.utc)
    version = f"{created:%Y%m%d-%H%M%S}-{hash_[:8]}"
    manifest = {
        "version": version,
        "created_at": created.isoformat(timespec="seconds"),
        "triage_version": __version__,
        "spacy_pipeline": {"name": info.name, "version": info.version},
        "libraries": {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                      "spacy": spacy.__version__, "numpy": np.__version__, "joblib": joblib.__version__},
        "data": {"sha256": hash_, "n_train": len(train_examples),
                 "per_source": dict(sorted(Counter(e.source for e in train_examples).items())),
                 "per_label": label_counts(train_examples),
                 "files": ([str(p) for p in data] if data else []) + (
                     ["training/data/seed/*.jsonl (train split)"] if with_seed or not data else []),
                 "transcripts": sum(1 for e in train_examples if e.kind == "transcript")},
        "backend": estimator.name,
        "estimator": estimator.get_params(),
        "n_features": int(estimator.n_features_),
        "urgency_policy": policy.to_dict(),
        "priors": prior_shift.to_dict(),
        "acute_alert_budget": settings.acute_alert_budget,
        "tuning": tuning,
        "metrics": {},
    }

    log("fitting the plain baseline on the same training data")
    baseline = PlainBaseline().fit([e.text for e in train_examples], labels)
    manifest["baseline_metrics"], manifest["breakdown"] = {}, {}
    # Which data each set's metrics were measured on: the service's gate compares recorded metrics
    # of two versions only where these match (triage/versions/gate.py).
    manifest["eval_data"] = {name: set_digest(examples) for name, examples in named_eval.items()}

    # Evaluate through the same prediction path as `triage predict`.
    model = TriageModel(payload, manifest, settings)
    for name, examples in named_eval.items():
        eval_docs = parse(nlp, [e.text for e in examples], name)
        predictions = model.predict_docs(eval_docs)
        gold = [e.labels() for e in examples]
        manifest["metrics"][name] = evaluate(gold, predictions, targets_for(name))
        manifest["baseline_metrics"][name] = evaluate(gold, baseline.predict([e.text for e in examples]))
        manifest["breakdown"][name] = breakdowns(examples, predictions)
        t, b = manifest["metrics"][name], manifest["baseline_metrics"][name]
        log(f"{name}: role macro-F1 {t['role']['macro_f1']:.3f} (baseline {b['role']['macro_f1']:.3f}), minor F1 "
            f"{t['minor']['f1']:.3f} ({b['minor']['f1']:.3f}), urgency macro-F1 {t['urgency']['macro_f1']:.3f} "
            f"({b['urgency']['macro_f1']:.3f}), acute recall {t['urgency']['acute_recall']:.3f}, acute precision "
            f"{t['urgency']['acute_precision']:.3f}, called acute {t['urgency']['share_called_acute']:.1%}")

    manifest["training"] = {"seconds": round(time.perf_counter() - started, 1)}
    root = Path(settings.model_dir)
    model_dir = Path(out) if out else root / version
    model_dir.mkdir(parents=True, exist_ok=True)
    manifest["baseline"] = save_baseline(model_dir, baseline)
    manifest = save_artifact(model_dir, payload, manifest)
    render_report(model_dir / REPORT, manifest)
    log(f"wrote {model_dir} (report: {model_dir / REPORT})")

    in_registry = model_dir.parent.resolve() == root.resolve()
    current = active_version(root)
    if in_registry and current is None:
        set_active(root, model_dir.name)
        log(f"activated {model_dir.name} (the first model)")
    elif in_registry and activate:
        from training.gate import GateError, activate as gated_activate

        try:
            gated_activate(root, model_dir.name, actor="triage train --activate")
            log(f"activated {model_dir.name}: it passes the quality gate against {current}")
        except GateError as exc:
            log(f"not activated: {exc}; the active model stays {current}")
    elif in_registry:
        log(f"not activated; the active model stays {current} (compare and activate with "
            f"`triage models activate {version}`)")
    return model_dir
