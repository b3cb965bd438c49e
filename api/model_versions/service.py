"""Model versions over the API: the list, and activation with the quality gate and a hot swap.

POST /v1/models/{version}/activate:

1. The candidate is loaded completely in this process first (sha256 checked against its manifest,
   spaCy pipeline and scikit-learn checked, one warm-up prediction); with TRIAGE_MODEL_PROCESSES > 0
   a new pool of model processes is started with it too. If that fails, nothing has changed: the old
   model keeps serving (422 `model_load_failed`).
2. The quality gate, `triage.versions.gate.compare(root, version, against=<the database's active
   version>, sets=gold_sets(gold), recorded=True)`, runs in a separate (spawned) process. It
   compares the metrics the two models' training recorded in their manifests on the held-out sets
   both name (the server has no corpus: docs/model-versions.md), and predicts with both models the
   resolved gold records of the audit database, which would otherwise compete with the requests for
   this process's interpreter lock (and the spaCy pipeline object is not shared between threads). A
   refusal answers 409 `quality_gate_failed` with the gate's failures and figures; the candidate is
   dropped.
3. The gate passed (or was forced with a reason): the activation is recorded in the database, then
   ACTIVE and the activation log are written, and the triager's model reference (and pool) are
   swapped, one assignment each. Requests already running finish on the old model; every request
   that starts afterwards uses the new one. The old pool stops taking predictions and is shut down
   once its queued predictions are done.

The active version lives in the database (api/model_versions/pointer.py): step 3 records the
activation as the newest row of model_activations (ACTIVE and the log are for the CLI), and every
other server process, uvicorn worker or instance, follows it: a thread polls the newest row every
TRIAGE_MODEL_POLL_SECONDS (default 2 s; one indexed row), loads a new version off the request path
and swaps it in the same way (`follow_once`). The gate runs once, in the process that was asked. One
activation at a time per process (409 `activation_in_progress`); two at once on different processes,
gated against the same active version, cannot both be recorded (409 `activation_conflict` for the
later one, which swaps nothing)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.domain_errors import (GateRefused, ModelProcessesUnavailable, ModelVersionConflict, ModelVersionInvalid,
                                ModelVersionNotFound)
from api.model_versions.pointer import Active, ActivationConflict, ActivePointer

if TYPE_CHECKING:
    from api.audit import AuditStore
    from api.ops.metrics import Metrics
    from api.predictions.service import Triager
    from api.settings import ApiSettings

log = logging.getLogger("triage.api")

GATE_TIMEOUT_SECONDS = 900
RETRY_SECONDS = 30.0  # a version that failed to load here is tried again after this


def _gate_process(env: dict[str, str], root: str, version: str, against: str | None, force: bool,
                  reason: str | None, sets: dict) -> tuple:
    """Runs in a spawned process: the gate's comparison against the database's active version
    (`against`), not the file's. Records nothing: the caller records the activation in the
    database, then the file. Returns a picklable outcome."""
    import os

    os.environ.update(env)
    from triage.settings import get_settings

    get_settings.cache_clear()
    from triage.artifacts import ArtifactError
    from triage.nlp import PipelineError
    from triage.versions.gate import GateError, compare

    try:
        comparison = compare(Path(root), version, against=against, sets=sets, recorded=True)
    except (ArtifactError, PipelineError, ValueError) as exc:
        return "error", type(exc).__name__, str(exc)
    summary = comparison.summary()
    if not comparison.passed and not force:
        return "refused", summary, str(GateError(comparison))
    return "ok", summary, None


class ModelRegistry:
    def __init__(self, settings: ApiSettings, triager: Triager, audit: AuditStore, metrics: Metrics,
                 pointer: ActivePointer):
        self.settings = settings
        self.triager = triager
        self.audit = audit
        self.metrics = metrics
        self.pointer = pointer
        self._lock = threading.Lock()  # one activation or follow step at a time in this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.seen: Active | None = None  # the newest activation this process has acted on
        self.follow_problem: str | None = None  # why the active version could not be loaded here
        self._failed_at = 0.0
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
        newest = self.pointer.newest()
        active = newest.version if newest else active_version(root)
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
        return self.pointer.history(last)

    # --- activation -------------------------------------------------------------------------------
    def activate(self, version: str, force: bool, reason: str | None, actor: str) -> dict[str, Any]:
        from triage.artifacts import MANIFEST

        if force and not reason:
            raise ModelVersionInvalid("reason_required", "a forced activation needs a reason", field="reason")
        model_dir = self.root / version
        if not (model_dir / MANIFEST).is_file():
            raise ModelVersionNotFound(version)
        if not self._lock.acquire(blocking=False):
            raise ModelVersionConflict("activation_in_progress",
                                       "another activation is running in this server process (or it is loading "
                                       "a version activated elsewhere); try again when it is done")
        try:
            triager = self.triager
            old = triager.model
            current = self.pointer.newest()
            if current is not None and current.version == version and getattr(old, "model_dir", None) is not None \
                    and Path(old.model_dir).resolve() == model_dir.resolve():
                return {"active": version, "model_version": old.version, "previous": version, "changed": False,
                        "passed_gate": None, "forced": False, "comparison": None}
            model = self._load(model_dir)
            pool = self._start_pool(model_dir, model) if triager.processes is not None else None
            try:
                status, summary, message = self._gate(version, current.version if current else None, force,
                                                      reason)
                if status != "ok":
                    if status == "refused":
                        raise GateRefused(message, summary)
                    raise ModelVersionInvalid("activation_failed", message)
                forced = bool(force and not summary["passed"])
                try:
                    self.seen = self.pointer.record(version, supersedes=current, by=actor, reason=reason,
                                                    forced=forced, passed_gate=summary["passed"],
                                                    failures=summary["failures"])
                except ActivationConflict:
                    now = self.pointer.newest()
                    raise ModelVersionConflict(
                        "activation_conflict", f"another server activated {now.version if now else 'a version'} "
                                               "while this activation was gated; nothing was changed here (check "
                                               "GET /v1/models and activate again if still wanted)") from None
            except BaseException:
                if pool is not None:
                    pool.close()
                raise
            self._write_file(version, current.version if current else None, summary, forced, reason, actor)
            self._swap(model, pool)
            log.info("model %s activated over the API (%s); %s was serving", model.version,
                     "passed the quality gate" if summary["passed"] else "forced", old.version)
            return {"active": version, "model_version": model.version, "previous": old.version, "changed": True,
                    "passed_gate": summary["passed"], "forced": forced, "comparison": summary}
        finally:
            self._lock.release()

    def _write_file(self, version: str, previous: str | None, summary: dict, forced: bool, reason: str | None,
                    actor: str) -> None:
        """ACTIVE and the activation log, for the CLI on this machine (the table is the truth; a
        failure here is logged, not answered: the activation happened)."""
        import json
        from datetime import datetime, timezone

        from triage.artifacts import set_active
        from triage.versions.gate import ACTIVATION_LOG

        entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": version,
                 "previous": previous, "passed_gate": summary["passed"], "forced": forced, "reason": reason,
                 "failures": summary["failures"], "by": actor, "summary": summary["sets"]}
        try:
            set_active(self.root, version)
            with open(self.root / ACTIVATION_LOG, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError as exc:
            log.error("model %s is active (database) but %s could not be written: %s", version, self.root,
                      type(exc).__name__)

    # --- following the database ------------------------------------------------------------------------
    def start_following(self, seen: Active | None) -> None:
        """Poll the newest activation in a daemon thread (never on a request's path)."""
        self.seen = seen
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow_loop, name="triage-model-follower", daemon=True)
        self._thread.start()

    def stop_following(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _follow_loop(self) -> None:
        interval = self.settings.model_poll_seconds
        failing = False
        while not self._stop.wait(interval):
            try:
                self.follow_once()
            except Exception as exc:  # noqa: BLE001 - a database blip must not end the thread
                if not failing:  # once per outage, not every poll
                    log.warning("reading the active model version failed (%s); retrying every %.0f s",
                                type(exc).__name__, interval)
                failing = True
                continue
            if failing:
                log.info("reading the active model version works again")
                failing = False

    def follow_once(self) -> bool:
        """Swap to the newest activation's version if this process serves another; True if it did.
        A version that cannot be loaded here is retried every RETRY_SECONDS; meanwhile the old
        model serves and /readyz reports the problem (not ready)."""
        newest = self.pointer.newest()
        if newest is None or (self.seen is not None and newest.id == self.seen.id and self.follow_problem is None):
            return False
        if not self._lock.acquire(blocking=False):
            return False  # an activation runs in this process; it records and swaps itself
        try:
            old = self.triager.model
            serving = getattr(old, "model_dir", None)
            if serving is not None and Path(serving).name == newest.version:
                self.seen, self.follow_problem = newest, None
                return False
            if self.follow_problem is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
                return False
            model_dir = self.root / newest.version
            try:
                model = self._load(model_dir)
                pool = self._start_pool(model_dir, model) if self.triager.processes is not None else None
            except (ModelVersionInvalid, ModelProcessesUnavailable) as exc:
                self.follow_problem = f"the active version {newest.version} cannot be loaded here: {exc.detail}"
                self._failed_at = time.monotonic()
                log.error("model %s was activated but cannot be loaded in this process; %s keeps serving",
                          newest.version, old.version)
                return False
            self._swap(model, pool)
            self.seen, self.follow_problem = newest, None
            log.info("model %s activated elsewhere (by %s); %s was serving here", model.version,
                     "another server process", old.version)
            return True
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

    def _gate(self, version: str, against: str | None, force: bool, reason: str | None) -> tuple:
        gold = self.audit.gold_examples()
        sets = (self.gate_sets or gold_sets)(gold)
        settings = self.settings
        env = {"TRIAGE_SPACY_MODEL": settings.spacy_model, "TRIAGE_MODEL_DIR": str(self.root),
               "TRIAGE_REVIEW_MIN_CONFIDENCE": str(settings.review_min_confidence),
               "TRIAGE_REVIEW_MIN_MARGIN": str(settings.review_min_margin)}
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(_gate_process, env, str(self.root), version, against, force, reason,
                               sets).result(timeout=GATE_TIMEOUT_SECONDS)

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
