"""The model and the guidance cards behind one call: text -> (prediction, cards), with metrics.

Predictions are CPU-bound Python (spaCy). In one process they run one at a time (a lock): threads
gain nothing in parallel, and eight of them contending for the GIL cut throughput from ~190 to
~110 predictions/s on the 2-core machine. To use more cores, `model_processes` (env
TRIAGE_MODEL_PROCESSES) starts a pool of processes that each hold the model: the HTTP process hands
every prediction to whichever is free, so the load is balanced per request (uvicorn workers would
balance per connection). The process's own model stays loaded as the fallback if the pool breaks.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from triage.labels import MAX_TEXT_CHARS

log = logging.getLogger("triage.api")

# --- the model processes ---------------------------------------------------------------------
_worker_model = None


def _init_model_process(model_dir: str, settings: dict, server_pid: int) -> None:
    global _worker_model
    import os

    # One BLAS/OpenMP thread per model process: the processes are the parallelism, and idle
    # BLAS threads spinning in several processes steal the cores from each other.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    from triage.model import TriageModel
    from triage.settings import Settings

    threadpool_limits(1)
    _exit_with_parent(server_pid)
    _worker_model = TriageModel.load(Path(model_dir), Settings(**settings))
    _worker_model.warm_up()


def _exit_with_parent(server_pid: int) -> None:
    """Model processes wait on the pool's queue, whose pipes they hold themselves: if the server is
    killed (kill -9), nothing would wake them. A watchdog thread ends the process then. The
    server's pid comes from the server: it may have died before this process got here."""
    import os

    if os.getppid() != server_pid:
        os._exit(0)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != server_pid:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="triage-parent-watch").start()


def _predict_in_process(text: str) -> tuple[bool, Any]:
    try:
        return True, _worker_model.predict_one(text)
    except Exception as exc:  # noqa: BLE001 - the type only: messages may quote input
        return False, type(exc).__name__


def _model_version() -> str:
    return _worker_model.version


class ModelProcesses:
    """A pool of spawned processes holding the model. ProcessPoolExecutor keeps a call queued at
    every process, so a process that finishes starts the next prediction at once (handing
    requests to idle processes one by one left them idle half of the time under load)."""

    def __init__(self, processes: int, model_dir: str, settings: dict, version: str):
        self._args = (processes, model_dir, settings)
        self.version = version
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        processes, model_dir, settings = self._args
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_model_process, initargs=(model_dir, settings, os.getpid()))
        try:
            # Load the model in every process now rather than on the first requests.
            versions = {f.result(timeout=300) for f in [pool.submit(_model_version) for _ in range(processes * 3)]}
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        if versions != {self.version}:
            pool.shutdown(wait=False, cancel_futures=True)
            raise RuntimeError(f"model processes loaded model {versions}, expected {self.version}")
        log.info("%d model processes ready", processes)
        return pool

    def predict(self, text: str, timeout: float = 60.0) -> dict | None:
        """A prediction, or None when the pool is broken (the caller predicts locally)."""
        pool = self._pool
        if pool is None:
            return None
        try:
            future = pool.submit(_predict_in_process, text)
        except RuntimeError:  # retired by a hot swap (retire()) since it was read: predict locally
            return None
        try:
            ok, result = future.result(timeout=timeout)
        except BrokenProcessPool:
            self._restart(pool)
            return None
        if not ok:
            raise RuntimeError(f"prediction failed in a model process ({result})")
        return result

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = None
        log.error("a model process died; starting the model processes again (the server's own model "
                  "answers meanwhile)")

        def start():
            try:
                pool = self._start()
            except Exception as exc:  # noqa: BLE001
                log.error("model processes could not be restarted: %s", type(exc).__name__)
                return
            with self._lock:
                self._pool = pool

        broken.shutdown(wait=False, cancel_futures=True)
        threading.Thread(target=start, daemon=True, name="triage-model-restart").start()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def retire(self) -> None:
        """Hot swap: take no more predictions; those already queued finish, then the processes end."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True,
                             name="triage-model-retire").start()


class Triager:
    def __init__(self, model, cards, metrics=None, guidance_limit: int = 4):
        self.model = model
        self.cards = cards
        self.metrics = metrics
        self.guidance_limit = guidance_limit
        self._lock = threading.Lock()
        self.processes: ModelProcesses | None = None

    @property
    def model_version(self) -> str:
        return self.model.version

    def start_pool(self, processes: int, settings) -> None:
        """Start `processes` model processes (spawned) with the model this process loaded."""
        if processes <= 0 or getattr(self.model, "model_dir", None) is None:
            return
        child_settings = {"spacy_model": settings.spacy_model, "model_dir": str(settings.model_dir),
                          "review_min_confidence": settings.review_min_confidence,
                          "review_min_margin": settings.review_min_margin}
        self.processes = ModelProcesses(processes, str(self.model.model_dir), child_settings, self.model.version)

    def stop(self) -> None:
        if self.processes is not None:
            self.processes.close()
            self.processes = None

    def swap(self, model, processes: ModelProcesses | None = None) -> None:
        """Hot swap to a fully loaded model (and its pool, api/registry.py): one assignment each, so
        predictions already running finish on the old model and later ones use the new one."""
        old = self.processes
        self.model = model
        self.processes = processes
        if old is not None:
            old.retire()

    # --- predictions ---------------------------------------------------------------------------
    def predict(self, text: str) -> dict[str, Any]:
        start = time.perf_counter()
        prediction = self.processes.predict(text) if self.processes is not None else None
        if prediction is None:
            with self._lock:
                start = time.perf_counter()
                prediction = self.model.predict_one(text)
        if self.metrics is not None:
            self.metrics.prediction_seconds.observe(time.perf_counter() - start)
            self.metrics.count_prediction(prediction)
        return prediction

    def guidance(self, triage: dict[str, Any]) -> list[dict[str, Any]]:
        if self.cards is None or self.guidance_limit == 0:
            return []
        return [dict(card) for card in self.cards.select(triage, limit=self.guidance_limit)]

    def triage(self, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        prediction = self.predict(text)
        return prediction, self.guidance(prediction)


def combine_client_text(texts: list[str], limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """The client's messages as one text for the model; when longer than the limit, its most recent
    part (the current situation matters most), cut at a word boundary. Returns (text, truncated)."""
    combined = "\n".join(t.strip() for t in texts if t.strip())
    if len(combined) <= limit:
        return combined, False
    tail = combined[-limit:]
    cut = min((i for i in (tail.find(" "), tail.find("\n")) if 0 <= i < 100), default=-1)
    if cut >= 0:
        tail = tail[cut + 1:]
    return tail, True
