"""Model versions over the API: the list, and activation with the quality gate and a hot swap.

POST /v1/models/{version}/activate:

1. The candidate is loaded completely in this process first (sha256 checked against its
   manifest, spaCy pipeline and scikit-learn checked, one warm-up prediction); with
   TRIAGE_MODEL_PROCESSES > 0 a new pool of model processes is started with it too. If that
   fails, nothing has changed: the old model keeps serving (422 `model_load_failed`).
2. The quality gate, `triage.versions.gate.activate(root, version, force, reason, recorded=True,
   sets=gold_sets(gold))`, runs in a separate (spawned) process. It compares the metrics the two
   models' training recorded in their manifests on the held-out sets both name (the server has no
   corpus: docs/model-versions.md), and predicts with both models the resolved gold records of the
   audit database, which would otherwise compete with the requests for this process's interpreter
   lock (and the spaCy pipeline object is not shared between threads). A refusal answers 409
   `quality_gate_failed` with the gate's failures and figures; the candidate is dropped.
3. The gate passed (or was forced with a reason) and wrote ACTIVE and the activation log: the
   triager's model reference (and pool) are swapped, one assignment each. Requests already
   running finish on the old model; every request that starts afterwards uses the new one. The
   old pool stops taking predictions and is shut down once its queued predictions are done.

One activation at a time per process (409 `activation_in_progress`). With TRIAGE_WORKERS > 1 every
uvicorn worker holds its own model and a request reaches only one of them, so activation over the
API is refused there (409 `activation_unsupported`): use `triage models activate` and restart.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.domain_errors import (GateRefused, ModelProcessesUnavailable, ModelVersionConflict, ModelVersionInvalid,
                                ModelVersionNotFound)

if TYPE_CHECKING:
    from api.audit import AuditStore
    from api.ops.metrics import Metrics
    from api.predictions.service import Triager
    from api.settings import ApiSettings

log = logging.getLogger("triage.api")

GATE_TIMEOUT_SECONDS = 900


def _gate_process(env: dict[str, str], root: str, version: str, force: bool, reason: str | None, sets: dict,
                  actor: str) -> tuple:
    """Runs in a spawned process: triage.versions.gate.activate. Returns a picklable outcome."""
    import os

    os.environ.update(env)
    from triage.settings import get_settings

    get_settings.cache_clear()
    from triage.artifacts import ArtifactError
    from triage.nlp import PipelineError
    from triage.versions.gate import GateError, activate

    try:
        comparison = activate(Path(root), version, force=force, reason=reason, sets=sets, recorded=True,
                              actor=actor)
        return "ok", comparison.summary(), None
    except GateError as exc:
        return "refused", exc.comparison.summary(), str(exc)
    except (ArtifactError, PipelineError, ValueError) as exc:
        return "error", type(exc).__name__, str(exc)


class ModelRegistry:
    def __init__(self, settings: ApiSettings, triager: Triager, audit: AuditStore, metrics: Metrics):
        self.settings = settings
        self.triager = triager
        self.audit = audit
        self.metrics = metrics
        self._lock = threading.Lock()
        # gold examples -> the sets the gate predicts (beside the recorded metrics); tests may replace it.
        self.gate_sets = None
        self._digests = DigestCache()

    @property
    def root(self) -> Path:
        return Path(self.settings.model_dir)

    def _serving(self):
        return self.triager.model

    # --- the list ------------------------------------------------------------------------------
    def list(self) -> dict[str, Any]:
        from triage.artifacts import (ACTIVE, INTEGRITY_MISSING, MANIFEST, ArtifactError, active_version,
                                      artifact_integrity, read_manifest)
        from triage.model import check_compatible
        from triage.nlp import PipelineError

        root = self.root
        serving = self._serving()
        serving_dir = Path(serving.model_dir).name if getattr(serving, "model_dir", None) else None
        active = active_version(root)
        versions = []
        children = sorted(root.iterdir()) if root.is_dir() else []
        for child in children:
            if child.name == ACTIVE or not (child / MANIFEST).is_file():
                continue
            try:
                manifest = read_manifest(child)
            except ArtifactError as exc:
                versions.append({"version": child.name, "integrity": INTEGRITY_MISSING, "compatible": False,
                                 "problem": str(exc)})
                continue
            problem = None
            try:
                check_compatible(manifest, self.settings)
            except (ArtifactError, PipelineError) as exc:
                problem = str(exc)
            # A version whose artifact no longer matches its manifest can never be loaded.
            integrity, integrity_problem = artifact_integrity(child, manifest, self._digests.sha256)
            problem = integrity_problem or problem
            pipeline = manifest.get("spacy_pipeline", {})
            data = manifest.get("data", {})
            versions.append({
                "version": child.name, "model_version": manifest.get("version"),
                "created_at": manifest.get("created_at"),
                "spacy_pipeline": f"{pipeline.get('name')} {pipeline.get('version')}",
                "n_train": data.get("n_train"), "transcripts": data.get("transcripts"),
                "data_files": data.get("files", []),
                "metrics": {name: _headline(m) for name, m in manifest.get("metrics", {}).items()},
                "training_seconds": manifest.get("training", {}).get("seconds"),
                "sha256": manifest.get("artifact", {}).get("sha256"),
                "integrity": integrity,
                "active": child.name == active, "serving": child.name == serving_dir,
                "compatible": problem is None, "problem": problem,
            })
        versions.sort(key=lambda v: v.get("created_at") or "")
        return {"active": active, "serving": {"version": serving_dir, "model_version": serving.version,
                                              "spacy_pipeline": getattr(serving, "pipeline_label", None)},
                "versions": versions, "activations": self._activations()}

    def _activations(self, last: int = 10) -> list[dict]:
        from triage.versions.gate import read_activations

        return [{k: entry.get(k) for k in ("at", "version", "previous", "passed_gate", "forced", "reason",
                                           "failures", "by")}
                for entry in read_activations(self.root, last)]

    # --- activation -------------------------------------------------------------------------------
    def activate(self, version: str, force: bool, reason: str | None, actor: str) -> dict[str, Any]:
        from triage.artifacts import MANIFEST, active_version

        if force and not reason:
            raise ModelVersionInvalid("reason_required", "a forced activation needs a reason", field="reason")
        if self.settings.workers > 1:
            raise ModelVersionConflict(
                "activation_unsupported",
                f"this server runs {self.settings.workers} worker processes (TRIAGE_WORKERS), each with "
                f"its own model; activate with `triage models activate {version}` and restart the server")
        model_dir = self.root / version
        if not (model_dir / MANIFEST).is_file():
            raise ModelVersionNotFound(version)
        if not self._lock.acquire(blocking=False):
            raise ModelVersionConflict("activation_in_progress",
                                       "another activation is running; try again when it is done")
        try:
            triager = self.triager
            old = triager.model
            if active_version(self.root) == version and getattr(old, "model_dir", None) is not None \
                    and Path(old.model_dir).resolve() == model_dir.resolve():
                return {"active": version, "model_version": old.version, "previous": version, "changed": False,
                        "passed_gate": None, "forced": False, "comparison": None}
            model = self._load(model_dir)
            pool = self._start_pool(model_dir, model) if triager.processes is not None else None
            try:
                outcome = self._gate(version, force, reason, actor)
            except BaseException:
                if pool is not None:
                    pool.close()
                raise
            status, summary, message = outcome
            if status != "ok":
                if pool is not None:
                    pool.close()
                if status == "refused":
                    raise GateRefused(message, summary)
                raise ModelVersionInvalid("activation_failed", message)
            self._swap(model, pool)
            log.info("model %s activated over the API (%s); %s was serving", model.version,
                     "passed the quality gate" if summary["passed"] else "forced", old.version)
            return {"active": version, "model_version": model.version, "previous": old.version, "changed": True,
                    "passed_gate": summary["passed"], "forced": bool(force and not summary["passed"]),
                    "comparison": summary}
        finally:
            self._lock.release()

    def _load(self, model_dir: Path):
        from triage.artifacts import ArtifactError
        from triage.model import TriageModel
        from triage.nlp import PipelineError

        try:
            model = TriageModel.load(model_dir, self.settings)
            model.warm_up()  # the first request after the swap should not pay for it
        except (ArtifactError, PipelineError) as exc:
            raise ModelVersionInvalid("model_load_failed", f"{exc} The active model keeps serving.") from None
        except Exception as exc:  # noqa: BLE001 - a broken artifact may raise anything; never serve it
            log.error("loading model %s failed: %s", model_dir.name, type(exc).__name__)
            raise ModelVersionInvalid("model_load_failed", f"model {model_dir.name} could not be loaded "
                                                           f"({type(exc).__name__}); the active model keeps serving"
                                      ) from None
        return model

    def _start_pool(self, model_dir: Path, model):
        from api.predictions.processes import ModelProcesses, child_settings

        settings = self.settings
        try:
            return ModelProcesses(settings.resolved_model_processes, str(model_dir), child_settings(settings),
                                  model.version)
        except Exception as exc:  # noqa: BLE001
            log.error("model processes for %s could not start: %s", model_dir.name, type(exc).__name__)
            raise ModelProcessesUnavailable("model_load_failed", f"the model processes could not load "
                                                                 f"{model_dir.name} ({type(exc).__name__}); the "
                                                                 f"active model keeps serving") from None

    def _gate(self, version: str, force: bool, reason: str | None, actor: str) -> tuple:
        gold = self.audit.gold_examples()
        sets = (self.gate_sets or gold_sets)(gold)
        settings = self.settings
        env = {"TRIAGE_SPACY_MODEL": settings.spacy_model, "TRIAGE_MODEL_DIR": str(self.root),
               "TRIAGE_REVIEW_MIN_CONFIDENCE": str(settings.review_min_confidence),
               "TRIAGE_REVIEW_MIN_MARGIN": str(settings.review_min_margin)}
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(_gate_process, env, str(self.root), version, force, reason, sets,
                               actor).result(timeout=GATE_TIMEOUT_SECONDS)

    def _swap(self, model, pool) -> None:
        old = self.triager.model
        self.triager.swap(model, pool)
        info = self.metrics.model_info
        try:
            info.remove(old.version, getattr(old, "pipeline_label", ""))
        except KeyError:
            pass
        info.labels(model.version, getattr(model, "pipeline_label", "")).set(1)


class DigestCache:
    """sha256 of artifacts, computed again only when the file's identity or status changed.

    The key includes st_ctime_ns, which every write and every metadata change (even a `touch`
    that restores the old mtime) moves and no user can set: a changed file is always hashed again.
    Hashing one 12 MB artifact takes ~25 ms; the list would otherwise pay it per version per call."""

    def __init__(self):
        self._lock = threading.Lock()
        self._known: dict[str, tuple[tuple, str]] = {}

    def sha256(self, path: Path) -> str:
        from triage.artifacts import sha256_file

        st = path.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            known = self._known.get(str(path))
        if known is not None and known[0] == key:
            return known[1]
        digest = sha256_file(path)
        with self._lock:
            self._known[str(path)] = (key, digest)
        return digest


def gold_sets(gold: list) -> dict[str, list]:
    """The sets the service's gate predicts: the reviewed gold records, when there are any."""
    return {"reviewed gold records": gold} if gold else {}


def _headline(metrics: dict) -> dict:
    try:
        return {"n": metrics.get("n"), "role_macro_f1": metrics["role"]["macro_f1"], "minor_f1": metrics["minor"]["f1"],
                "urgency_macro_f1": metrics["urgency"]["macro_f1"],
                "acute_recall": metrics["urgency"]["acute_recall"]}
    except (KeyError, TypeError):
        return {}
