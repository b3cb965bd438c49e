"""TRIAGE_MODEL_PROCESSES: predictions in a pool of model processes, balanced per request."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import httpx
import pytest

from service.helpers import auth, server_env

Q = auth("queue")
TEXT = "mijn vriend heeft me gisteren geslagen en nu dreigt hij mijn telefoon af te pakken"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[1].split()[0] != "Z"


@pytest.mark.slow
def test_model_processes_predict_recover_and_die_with_the_server(servers, tmp_path, model):
    server = servers(server_env(tmp_path / "data", TRIAGE_MODEL_PROCESSES="2"), "pool")
    expected = model.predict_one(TEXT)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/v1/triage", json={"text": TEXT}, headers=Q)
        assert r.status_code == 200
        assert {k: v for k, v in r.json().items() if k != "guidance"} == expected
        workers = [p for p in _children(server.proc.pid) if "spawn_main" in open(f"/proc/{p}/cmdline").read()]
        assert len(workers) == 2
        # A model process dies: requests keep working (the server's own model answers meanwhile)
        # and the pool is started again.
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        for _ in range(5):
            assert http.post("/v1/triage", json={"text": TEXT}, headers=Q).status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "model processes ready" not in server.output().split("died")[-1]:
            time.sleep(0.5)
        assert "model processes ready" in server.output().split("died")[-1], server.output()[-2000:]
        r = http.post("/v1/triage", json={"text": TEXT}, headers=Q)
        assert r.status_code == 200 and r.json()["urgency"] == expected["urgency"]
    # kill -9 of the server: the model processes must not linger.
    children = [p for p in _children(server.proc.pid) if _alive(p)]
    assert children
    server.kill()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.3)
    assert not any(_alive(p) for p in children), "model processes outlived a killed server"


@pytest.mark.slow
def test_concurrent_predictions_are_batched_and_equal_in_process_ones(model):
    """One model process, twelve requests at once: the process predicts what queued up on its pipe
    together (nlp.pipe); every caller gets exactly its own text's prediction."""
    from concurrent.futures import ThreadPoolExecutor

    from api.model_processes import ModelProcesses
    from api.triager import Triager
    from triage.settings import get_settings

    texts = [f"{TEXT} ({i})" if i % 2 else f"ik ben {10 + i} en mijn moeder slaat mij" for i in range(12)]
    settings = get_settings()
    pool = ModelProcesses(1, str(model.model_dir), {"spacy_model": settings.spacy_model,
                                                    "model_dir": str(settings.model_dir)}, model.version)
    try:
        with ThreadPoolExecutor(12) as threads:
            answers = list(threads.map(pool.predict, texts))
        assert answers == [model.predict_one(t) for t in texts]
        assert pool.batches < len(texts), "queued requests were predicted in batches"
        # The server's dispatch: an idle server predicts itself (no hand-off); while its own model
        # is busy, predictions go to the model processes.
        triager = Triager(model, None)
        triager.processes = pool
        before = pool.batches
        assert triager.predict(TEXT) == model.predict_one(TEXT) and pool.batches == before
        with triager._lock:
            assert triager.predict(TEXT) == model.predict_one(TEXT) and pool.batches == before + 1
        # The event loop's path (POST /v1/triage): concurrent awaits are batched too, and a request
        # that is cancelled while its text is in the model process breaks nothing for later ones.
        assert asyncio.run(_gather(pool, texts)) == [model.predict_one(t) for t in texts]
        assert asyncio.run(_cancel_one_then_predict(pool)) == model.predict_one(TEXT)
        before = pool.batches
        assert asyncio.run(triager.triage_async(TEXT))[0] == model.predict_one(TEXT)
        assert pool.batches == before, "an idle server predicts itself"
        with triager._lock:
            assert asyncio.run(triager.triage_async(TEXT))[0] == model.predict_one(TEXT)
        assert pool.batches == before + 1, "while its own model is busy, a model process answers"
    finally:
        pool.close()
    assert pool.predict(TEXT) is None  # a closed pool answers nothing: the server predicts itself
    assert asyncio.run(pool.predict_async(TEXT)) is None


async def _gather(pool, texts: list[str]) -> list[dict]:
    return list(await asyncio.gather(*(pool.predict_async(t) for t in texts)))


async def _cancel_one_then_predict(pool) -> dict:
    task = asyncio.create_task(pool.predict_async(TEXT + " (afgebroken)"))
    await asyncio.sleep(0)  # sent to the model process
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)  # its answer arrives for a caller that is gone
    return await asyncio.wait_for(pool.predict_async(TEXT), 30)

