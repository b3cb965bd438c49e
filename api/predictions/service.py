"""The model and the guidance cards behind one call: text -> (prediction, cards), with metrics.

Predictions are CPU-bound Python (spaCy). In one process they run one at a time (a lock): threads
gain nothing in parallel, and eight of them contending for the GIL cut throughput from ~190 to
~110 predictions/s on the 2-core machine. To use more cores, `model_processes` (env
TRIAGE_MODEL_PROCESSES; by default one per core but one when there are several) runs predictions
in processes that each hold the model (api/predictions/processes.py), balanced per request (uvicorn
workers would balance per connection). The process's own model stays loaded as the fallback.
POST /v1/triage awaits the model processes from the event loop (triage_async): no thread of the
server waits on them, which took p99 at 8 clients from ~52 to ~47 ms on the 2-core machine.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.predictions.processes import ModelProcesses, child_settings
from triage.labels import MAX_TEXT_CHARS


class Triager:
    def __init__(self, model, cards, metrics=None, guidance_limit: int = 4):
        self.model = model
        self.cards = cards
        self.metrics = metrics
        self.guidance_limit = guidance_limit
        self._lock = threading.Lock()  # one local prediction at a time
        self.processes: ModelProcesses | None = None

    @property
    def model_version(self) -> str:
        return self.model.version

    def start_pool(self, processes: int, settings) -> None:
        """Start `processes` model processes (spawned) with the model this process loaded."""
        if processes <= 0 or getattr(self.model, "model_dir", None) is None:
            return
        self.processes = ModelProcesses(processes, str(self.model.model_dir), child_settings(settings),
                                        self.model.version)

    def stop(self) -> None:
        if self.processes is not None:
            self.processes.close()
            self.processes = None

    def swap(self, model, processes: ModelProcesses | None = None) -> None:
        """Hot swap to a fully loaded model (and its pool, api/model_versions/service.py): one assignment each, so
        predictions already running finish on the old model and later ones use the new one."""
        old = self.processes
        self.model = model
        self.processes = processes
        if old is not None:
            old.retire()

    # --- predictions ---------------------------------------------------------------------------
    def predict(self, text: str) -> dict[str, Any]:
        """With model processes, a server with nothing else to predict predicts here (one request
        answers ~1.5 ms sooner without the hand-off); under load the model processes take every
        prediction, so this process's GIL stays free for HTTP."""
        start = time.perf_counter()
        prediction = None
        processes = self.processes
        if not self._predict_here(processes):
            prediction = processes.predict(text)
        if prediction is None:
            with self._lock:
                start = time.perf_counter()
                prediction = self.model.predict_one(text)
        self._observe(prediction, start)
        return prediction

    async def triage_async(self, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """triage() for the event loop: under load the model processes answer without a thread of
        this process waiting on them; otherwise the thread pool predicts here, as triage() does."""
        processes = self.processes
        if self._predict_here(processes):
            return await run_in_threadpool(self.triage, text)
        start = time.perf_counter()
        prediction = await processes.predict_async(text)
        if prediction is None:
            return await run_in_threadpool(self.triage, text)
        self._observe(prediction, start)
        return prediction, self.guidance(prediction)

    def predicts_elsewhere(self) -> bool:
        """Whether a prediction started now would go to a model process (the server process is
        then free for other work meanwhile, e.g. redacting the text for its audit record)."""
        return not self._predict_here(self.processes)

    def _predict_here(self, processes: ModelProcesses | None) -> bool:
        """Predict in this process: there are no model processes, or none has work and this
        process's own model is free."""
        return processes is None or (processes.idle and not self._lock.locked())

    def _observe(self, prediction: dict[str, Any], start: float) -> None:
        if self.metrics is not None:
            self.metrics.prediction_seconds.observe(time.perf_counter() - start)
            self.metrics.count_prediction(prediction)

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
