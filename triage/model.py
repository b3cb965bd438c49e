"""A trained triage model, loaded from a verified versioned directory, and its predictions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sklearn

from triage.artifacts import ArtifactError, active_version, load_verified, read_manifest
from triage.backends import Backend, Scored, manifest_backend
from triage.decision import ReviewPolicy, UrgencyPolicy
from triage.explain import summary_nl
from triage.features import doc_text
from triage.labels import HEAD_REGISTRY, HEADS, MAX_TEXT_CHARS
from triage.language import detect_language
from triage.nlp import PipelineError, exclusive, load_pipeline, transient, warm_tokenizer
from triage.priors import PriorShift
from triage.settings import Settings, get_settings

# warm_up(): a Dutch opener with a red flag, and one in English (it reaches the language identifier).
WARM_UP_TEXTS = ("hoi, mijn vriend heeft me gisteren geslagen en ik durf niet naar huis",
                 "Hello, I need help because my husband hits me every day")

# Inputs come from triage's own transformers: skip scikit-learn's finiteness scans on every call.
sklearn.set_config(assume_finite=True)


def resolve_model_dir(model_dir: Path | None = None, settings: Settings | None = None) -> Path:
    """An explicit model directory, else the active version under TRIAGE_MODEL_DIR."""
    if model_dir is not None:
        return Path(model_dir)
    settings = settings or get_settings()
    root = Path(settings.model_dir)
    version = active_version(root)
    if version is None:
        raise ArtifactError(f"no active model in {root}; train one with `triage train`")
    return root / version


def check_compatible(manifest: dict, settings: Settings) -> None:
    """Refuse a model trained with another spaCy pipeline or scikit-learn than this process has."""
    trained = manifest.get("spacy_pipeline", {})
    name, version = trained.get("name"), trained.get("version")
    if name != settings.spacy_model:
        raise PipelineError(
            f"model {manifest.get('version')} was trained with spaCy pipeline '{name}' {version}, but the "
            f"configured pipeline is '{settings.spacy_model}' (TRIAGE_SPACY_MODEL). Set TRIAGE_SPACY_MODEL={name} "
            f"or retrain with `triage train`."
        )
    nlp = load_pipeline(name)
    installed = str(nlp.meta.get("version"))
    if installed != version:
        raise PipelineError(
            f"model {manifest.get('version')} was trained with '{name}' {version}, but {installed} is installed. "
            f"Install {name}=={version} or retrain with `triage train`."
        )
    trained_sklearn = manifest.get("libraries", {}).get("scikit-learn")
    if trained_sklearn != sklearn.__version__:
        raise ArtifactError(
            f"model {manifest.get('version')} was saved with scikit-learn {trained_sklearn}, this environment has "
            f"{sklearn.__version__}; retrain with `triage train`."
        )


class TriageModel:
    """Predicts the heads of the registry for chat openers, with red flags and explanations.

    The scores come from the model's backend (triage/backends/), used only through its protocol."""

    def __init__(self, payload: dict, manifest: dict, settings: Settings, model_dir: Path | None = None):
        self.backend: Backend = _checked_backend(payload["estimator"], manifest)
        self.estimator = self.backend  # the payload's name for it, kept for existing callers
        self.urgency_policy: UrgencyPolicy = payload["urgency_policy"]
        # Models trained before deployment priors existed carry none: their scores stay as fitted.
        self.prior_shift: PriorShift = payload.get("prior_shift") or PriorShift()
        self.manifest = manifest
        self.model_dir = model_dir
        self.version: str = manifest["version"]
        self.pipeline_name: str = manifest["spacy_pipeline"]["name"]
        self.pipeline_label = f"{self.pipeline_name} {manifest['spacy_pipeline']['version']}"
        self.nlp = load_pipeline(self.pipeline_name)
        warm_tokenizer(self.nlp, self.backend.vocabulary())
        self.review_policy = ReviewPolicy(settings.review_min_confidence, settings.review_min_margin)
        # Score keys per head, in the estimator's column order.
        self._score_keys = {head.name: [str(c) for c in self.backend.classes_[head.name]]
                            for head in HEAD_REGISTRY if head.kind != "binary"}
        self._true_column = {head.name: self.backend.classes_[head.name].index(True)
                             for head in HEAD_REGISTRY if head.kind == "binary"}

    @classmethod
    def load(cls, model_dir: Path | None = None, settings: Settings | None = None) -> "TriageModel":
        settings = settings or get_settings()
        path = resolve_model_dir(model_dir, settings)
        check_compatible(read_manifest(path), settings)
        payload, manifest = load_verified(path)
        return cls(payload, manifest, settings, path)

    # ------------------------------------------------------------------------------------------
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[dict]:
        """Predictions for many openers (nlp.pipe, one featurisation per batch). Nothing of the texts
        stays behind in the spaCy pipeline (triage.nlp.transient): the results are plain data. One
        memory zone per batch, so a long evaluation (activating a model) holds the pipeline for one
        batch at a time and the server's own predictions get their turn in between."""
        for i, text in enumerate(texts):
            _check_text(text, i)
        results: list[dict] = []
        for start in range(0, len(texts), batch_size):
            with transient(self.nlp):
                results.extend(self._predict(texts[start:start + batch_size]))
        return results

    def _predict(self, texts: Sequence[str]) -> list[dict]:
        if len(texts) == 1:
            return self.predict_docs([self.nlp(texts[0])])
        return self.predict_docs(list(self.nlp.pipe(texts, batch_size=len(texts))))

    def predict_one(self, text: str) -> dict:
        return self.predict([text])[0]

    def warm_up(self) -> None:
        """Run every lazily initialised part once (spaCy's first call, the language identifier, which
        short or clearly Dutch openers never reach), so that no client's request pays for loading.
        Outside a memory zone, so that what spaCy caches on a first call stays (these are fixed
        texts, not chat text)."""
        with exclusive(self.nlp):
            self._predict(list(WARM_UP_TEXTS))

    def predict_docs(self, docs: Sequence) -> list[dict]:
        scored = self.backend.score(docs)
        proba = dict(scored.proba)
        for head in HEADS:  # the shift knows which heads it corrects (the multiclass ones) and leaves the rest
            proba[head] = self.prior_shift.apply(head, proba[head], self.backend.classes_[head])
        rounded = {head: np.round(p, 4).tolist() for head, p in proba.items()}
        out = []
        for i, doc in enumerate(docs):
            out.append(self._result(doc, scored, i, {head: r[i] for head, r in rounded.items()}))
        return out

    def _result(self, doc, scored: Scored, i: int, proba: dict[str, list[float]]) -> dict:
        scores = {}
        for head in HEADS:
            if head in self._true_column:
                p_true = proba[head][self._true_column[head]]
                scores[head] = {"true": p_true, "false": round(1.0 - p_true, 4)}
            else:
                scores[head] = dict(zip(self._score_keys[head], proba[head]))
        labels = {head.name: _label(head.kind, scores[head.name]) for head in HEAD_REGISTRY}
        flags = doc._.red_flags or []
        language, _ = detect_language(doc_text(doc))
        # Urgency is decided by the cost-sensitive policy and red flags, not by the largest score.
        urgency, model_urgency, raised_by = self.urgency_policy.decide(
            scores["urgency"], flags, now_possible=now_possible(doc, language))

        # Each explained head is explained towards the model's own label (urgency before red flags).
        explanation = self.backend.explain(scored, i, {**labels, "urgency": model_urgency})
        explanation.update({
            "urgency_model": model_urgency,
            "urgency_raised_by": sorted({f.cue for f in raised_by}),
        })
        reasons = self.review_policy.reasons_for(scores, language, bool(raised_by))
        result = {
            **labels,
            "urgency": urgency,
            "scores": scores,
            "red_flags": [f.to_dict() for f in flags],
            "needs_review": bool(reasons),
            "review_reasons": reasons,
            "language": language,
            "explanation": explanation,
            "model_version": self.version,
            "spacy_pipeline": self.pipeline_label,
        }
        explanation["summary_nl"] = summary_nl(result)
        return result


def _checked_backend(backend, manifest: dict) -> Backend:
    """The artifact's backend, if it is the one the manifest names and implements the protocol."""
    expected = manifest_backend(manifest)
    held = getattr(backend, "name", type(backend).__name__)
    if held != expected:
        raise ArtifactError(f"backend: the manifest names {expected!r} but the artifact holds {held!r}")
    if not isinstance(backend, Backend):
        raise ArtifactError(f"backend: {held!r} does not implement triage.backends.Backend")
    return backend


def _label(kind: str, scores: dict[str, float]):
    """A head's label from its scores: the largest (multiclass), true from 0.5 (binary), every class
    from 0.5 (multilabel)."""
    if kind == "binary":
        return scores["true"] >= 0.5
    if kind == "multilabel":
        return [c for c, p in scores.items() if p >= 0.5]
    return max(scores, key=scores.get)


def now_possible(doc, language: str) -> bool:
    """False for a Dutch message told entirely in the past (the tense is read by the Dutch parser, so
    other languages keep every possibility)."""
    return not (language == "nl" and (doc._.cues or {}).get("told_in_past"))


class TextError(ValueError):
    def __init__(self, index: int, message: str):
        super().__init__(f"text #{index}: {message}")
        self.index = index
        self.message = message


def _check_text(text, index: int) -> None:
    if not isinstance(text, str):
        raise TextError(index, f"must be a string, got {type(text).__name__}")
    if not text.strip():
        raise TextError(index, "is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TextError(index, f"is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")


def iter_batches(items: Iterable, size: int):
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
