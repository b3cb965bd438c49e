"""Model processes: predictions on every core, with micro-batching.

Predictions are CPU-bound Python (spaCy); threads of one process cannot run them in parallel (the
GIL). Each model process holds the model and talks to the server over its own pipe:

* The request thread sends (id, text) straight down the pipe of the process with the fewest
  predictions outstanding, and waits on a future; one reader thread per process receives the
  answers and completes the futures. No executor, feeder or manager threads in between: the
  round trip costs ~0.5 ms instead of ~2.5 ms with ProcessPoolExecutor.
* A process predicts everything that has queued up on its pipe in one batch (nlp.pipe): under
  load a batch of 4 costs ~3.4 ms per opener instead of ~4.9 ms one by one. One request alone is
  never delayed: it is predicted at once.
* A process that dies fails the predictions it had (the server's own model answers them) and the
  pool is started again in the background. Processes exit when the server dies, even by SIGKILL.
* A restart first checks the artifact's sha256 against its manifest here in the server (~25 ms)
  before spawning anything. When the artifact was changed or removed, or the processes cannot load
  it, the pool is `failed` (status(); /readyz answers 503 with the reason) and the restart is
  tried again every RESTART_RETRY_SECONDS until it succeeds: the server's own model, verified when
  it was loaded, answers every prediction meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

log = logging.getLogger("triage.api")

MAX_BATCH = 16          # openers predicted together at most (memory stays flat, latency bounded)
START_TIMEOUT = 300.0   # seconds for a process to load the model
RESTART_RETRY_SECONDS = 30.0  # a failed restart of the pool is tried again after this long


# --- in the model process -----------------------------------------------------------------------

def _serve(conn, model_dir: str, settings: dict, server_pid: int) -> None:
    # One BLAS/OpenMP thread per model process: the processes are the parallelism, and idle BLAS
    # threads spinning in several processes steal the cores from each other.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    from triage.model import TriageModel
    from triage.settings import Settings

    threadpool_limits(1)
    _exit_with_parent(server_pid)
    try:
        model = TriageModel.load(Path(model_dir), Settings(**settings))
        model.warm_up()
    except Exception as exc:  # noqa: BLE001 - reported to the server by type only
        conn.send(("failed", type(exc).__name__))
        return
    conn.send(("ready", model.version))
    while True:
        try:
            batch = [conn.recv()]
            while len(batch) < MAX_BATCH and conn.poll():
                batch.append(conn.recv())
        except (EOFError, OSError):
            return
        if None in batch:  # asked to stop
            batch = [m for m in batch if m is not None]
            if batch:
                conn.send(_predict(model, batch))
            return
        conn.send(_predict(model, batch))


def _predict(model, batch: list[tuple[int, str]]) -> list[tuple[int, bool, Any]]:
    try:
        results = model.predict([text for _, text in batch], batch_size=len(batch))
        return [(i, True, r) for (i, _), r in zip(batch, results)]
    except Exception:  # noqa: BLE001 - one bad text must not fail the others: one by one
        out = []
        for i, text in batch:
            try:
                out.append((i, True, model.predict_one(text)))
            except Exception as exc:  # noqa: BLE001 - the type only: messages may quote input
                out.append((i, False, type(exc).__name__))
        return out


def _exit_with_parent(server_pid: int) -> None:
    """A model process blocks reading its pipe, whose other end it may share with nobody alive:
    a watchdog thread ends it when the server is gone (the server's pid comes from the server: it
    may have died before this process got here)."""
    if os.getppid() != server_pid:
        os._exit(0)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != server_pid:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="triage-parent-watch").start()


# --- in the server --------------------------------------------------------------------------------

def child_settings(settings) -> dict:
    """What a model process needs to load the model as the server did (plain data: it is pickled
    to a spawned process)."""
    return {"spacy_model": settings.spacy_model, "model_dir": str(settings.model_dir),
            "review_min_confidence": settings.review_min_confidence,
            "review_min_margin": settings.review_min_margin}


def _answer(message: tuple[bool, Any]) -> dict:
    ok, result = message
    if not ok:
        raise RuntimeError(f"prediction failed in a model process ({result})")
    return result


class _Broken(Exception):
    pass


class _Unverified(Exception):
    """The artifact on disk fails its integrity check: no process is spawned for it."""

    def __init__(self, integrity: str):
        super().__init__(integrity)
        self.integrity = integrity


def _check_artifact(model_dir: str) -> None:
    from triage.artifacts import INTEGRITY_OK, ArtifactError, artifact_integrity, read_manifest

    try:
        integrity, _ = artifact_integrity(Path(model_dir), read_manifest(Path(model_dir)))
    except (ArtifactError, OSError):
        integrity = "missing"
    if integrity != INTEGRITY_OK:
        raise _Unverified(integrity)


class _Process:
    def __init__(self, ctx, model_dir: str, settings: dict):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, model_dir, settings, os.getpid()), daemon=True,
                                   name="triage-model")
        self.process.start()
        child.close()
        self.send_lock = threading.Lock()
        self.waiting: dict[int, Future] = {}
        self.broken = False
        self.on_broken = None
        self.batches = 0  # answers received: one message per batch

    def ready(self, timeout: float) -> str:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"a model process did not load the model in {timeout:.0f} s")
        status, value = self.conn.recv()
        if status != "ready":
            raise RuntimeError(f"a model process could not load the model ({value})")
        threading.Thread(target=self._read, daemon=True, name="triage-model-reader").start()
        return value

    def _read(self) -> None:
        try:
            while True:
                answers = self.conn.recv()
                self.batches += 1
                for request_id, ok, result in answers:
                    future = self.waiting.pop(request_id, None)
                    if future is not None:
                        future.set_result((ok, result))
        except (EOFError, OSError):
            pass
        self.broken = True
        for request_id in list(self.waiting):
            future = self.waiting.pop(request_id, None)
            if future is not None and not future.done():
                future.set_exception(_Broken())
        if self.on_broken is not None:
            self.on_broken(self)

    def submit(self, request_id: int, text: str) -> Future:
        future: Future = Future()
        # Running from the start: a caller that gives up (an awaiting request cancelled) cannot
        # cancel it, so the reader's set_result never meets a cancelled future.
        future.set_running_or_notify_cancel()
        self.waiting[request_id] = future
        try:
            with self.send_lock:
                self.conn.send((request_id, text))
        except (OSError, ValueError):
            self.waiting.pop(request_id, None)
            raise _Broken() from None
        if self.broken:  # the reader may have failed the waiting futures just before this one came
            self.waiting.pop(request_id, None)
            raise _Broken()
        return future

    def stop(self, timeout: float) -> None:
        try:
            with self.send_lock:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class ModelProcesses:
    """`processes` spawned processes holding the model in `model_dir`."""

    def __init__(self, processes: int, model_dir: str, settings: dict, version: str,
                 retry_seconds: float = RESTART_RETRY_SECONDS):
        self._args = (processes, model_dir, settings)
        self.version = version
        self.retry_seconds = retry_seconds
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stopped = threading.Event()  # closed or retired: no more restarts
        self._problem: str | None = None   # why the last restart failed (None: running or restarting)
        self._procs: list[_Process] | None = self._start()

    def _start(self) -> list[_Process]:
        processes, model_dir, settings = self._args
        _check_artifact(model_dir)
        ctx = multiprocessing.get_context("spawn")
        procs = [_Process(ctx, model_dir, settings) for _ in range(processes)]
        try:
            versions = {p.ready(START_TIMEOUT) for p in procs}
            if versions != {self.version}:
                raise RuntimeError(f"model processes loaded model {versions}, expected {self.version}")
        except BaseException:
            for p in procs:
                p.process.kill()
            raise
        for p in procs:
            p.on_broken = self._broken
        log.info("%d model processes ready", processes)
        return procs

    def status(self) -> dict[str, Any]:
        """What can predict here: {"configured", "running", "state": ok | restarting | failed |
        stopped, "problem": why it failed (no paths, no text: /readyz is public)}."""
        procs = self._procs
        running = sum(1 for p in procs or () if not p.broken and p.process.is_alive())
        configured = self._args[0]
        if self._stopped.is_set():
            state = "stopped"
        elif procs is not None and running == configured:
            state = "ok"
        elif self._problem is not None:
            state = "failed"
        else:
            state = "restarting"
        return {"configured": configured, "running": running, "state": state,
                "problem": self._problem if state == "failed" else None}

    @property
    def idle(self) -> bool:
        """No prediction under way in any model process."""
        return not any(p.waiting for p in self._procs or ())

    @property
    def batches(self) -> int:
        """Batches predicted so far by the current processes."""
        return sum(p.batches for p in self._procs or ())

    def predict(self, text: str, timeout: float = 60.0) -> dict | None:
        """A prediction, or None when no model process can answer (the caller predicts locally)."""
        future = self.submit(text)
        if future is None:
            return None
        try:
            return _answer(future.result(timeout=timeout))
        except (_Broken, FutureTimeout):
            return None

    async def predict_async(self, text: str, timeout: float = 60.0) -> dict | None:
        """predict() for the event loop: awaits the answer without holding a thread."""
        future = self.submit(text)
        if future is None:
            return None
        try:
            return _answer(await asyncio.wait_for(asyncio.wrap_future(future), timeout))
        except (_Broken, asyncio.TimeoutError):
            return None

    def submit(self, text: str) -> Future | None:
        """The future of a prediction in the process with the fewest outstanding; None when no
        model process can take it."""
        procs = self._procs
        if not procs:
            return None
        proc = min(procs, key=lambda p: len(p.waiting) + (1 << 30) * p.broken)
        if proc.broken:
            return None
        try:
            return proc.submit(next(self._ids), text)
        except _Broken:
            return None

    def _broken(self, proc: _Process) -> None:
        with self._lock:
            if self._procs is None or proc not in self._procs:
                return  # retired, closed, or already being restarted
            old, self._procs = self._procs, None
        log.error("a model process died; starting the model processes again (the server's own model "
                  "answers meanwhile)")

        def restart():
            for p in old:
                p.stop(5)
            while not self._stopped.is_set():
                try:
                    procs = self._start()
                except _Unverified as exc:
                    self._problem = (f"the model artifact is {exc.integrity} (its sha256 no longer matches the "
                                     f"manifest, or it is gone); not loaded")
                except Exception as exc:  # noqa: BLE001 - the type only: never a path or text
                    self._problem = f"the model processes could not load the model ({type(exc).__name__})"
                else:
                    with self._lock:
                        if not self._stopped.is_set():
                            self._procs, self._problem = procs, None
                            return
                    for p in procs:  # closed or retired while they started
                        p.on_broken = None
                        p.stop(5)
                    return
                log.error("model processes could not be restarted: %s; trying again in %.0f s", self._problem,
                          self.retry_seconds)
                self._stopped.wait(self.retry_seconds)

        threading.Thread(target=restart, daemon=True, name="triage-model-restart").start()

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            procs, self._procs = self._procs, None
        for p in procs or ():
            p.on_broken = None
            p.stop(10)

    def retire(self) -> None:
        """Hot swap: take no more predictions; those under way finish, then the processes end."""
        self._stopped.set()
        with self._lock:
            procs, self._procs = self._procs, None

        def finish():
            deadline = time.monotonic() + 120
            while any(p.waiting for p in procs or ()) and time.monotonic() < deadline:
                time.sleep(0.05)
            for p in procs or ():
                p.on_broken = None
                p.stop(10)

        threading.Thread(target=finish, daemon=True, name="triage-model-retire").start()
