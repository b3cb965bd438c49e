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

    from api.predictions.processes import ModelProcesses
    from api.predictions.service import Triager
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
    try:
        await task
    except asyncio.CancelledError:
        pass  # usually; on a loaded machine the answer may come first, and wait_for returns it
    await asyncio.sleep(0.5)  # its answer arrives for a caller that is gone
    return await asyncio.wait_for(pool.predict_async(TEXT), 30)



def _tamper(artifact) -> bytes:
    original = artifact.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    return original


def _wait_ready(http, status_code: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = http.get("/readyz")
        if r.status_code == status_code or time.monotonic() > deadline:
            assert r.status_code == status_code, r.text
            return r.json()
        time.sleep(0.3)


@pytest.mark.slow
def test_readiness_and_list_tell_a_tampered_artifact_that_killed_the_model_processes(servers, tmp_path, registry):
    """The artifact is changed on disk under a running server and its model process dies: the
    pool cannot start again, so /readyz answers 503 naming why, GET /v1/models shows the version
    `tampered` and not compatible, and predictions go on with the server's own (verified) model."""
    root, version = registry
    server = servers(server_env(tmp_path / "data", TRIAGE_MODEL_PROCESSES="1", TRIAGE_MODEL_DIR=str(root)), "tamper")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["model_processes"] == "ok (1 of 1 running)"
        listed = {v["version"]: v for v in http.get("/v1/models", headers=auth("reviewer")).json()["versions"]}
        assert listed[version]["integrity"] == "ok" and listed[version]["compatible"]
        _tamper(root / version / "model.joblib")
        listed = {v["version"]: v for v in http.get("/v1/models", headers=auth("reviewer")).json()["versions"]}
        assert listed[version]["integrity"] == "tampered" and listed[version]["compatible"] is False
        assert listed[version]["serving"]
        workers = [p for p in _children(server.proc.pid) if "spawn_main" in open(f"/proc/{p}/cmdline").read()]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        body = _wait_ready(http, 503)
        assert body["status"] == "not ready" and body["checks"]["model"] == "ok"
        check = body["checks"]["model_processes"]
        assert check.startswith("failed (0 of 1 running)") and "tampered" in check, check
        assert str(root) not in check  # public: no paths
        r = http.post("/v1/triage", json={"text": TEXT}, headers=Q)
        assert r.status_code == 200 and r.json()["model_version"] == version
    # nothing was spawned for the tampered artifact: the check runs in the server first
    assert not [p for p in _children(server.proc.pid) if _alive(p)
                and "spawn_main" in open(f"/proc/{p}/cmdline").read()]
    assert "model processes could not be restarted" in server.output()


@pytest.mark.slow
def test_a_failed_pool_is_tried_again_until_the_artifact_is_whole(registry):
    """A pool that could not restart tries again (every retry_seconds) and serves once the
    artifact is restored; closing it stops the retries."""
    from api.predictions.processes import ModelProcesses
    from triage.settings import get_settings

    root, version = registry
    settings = get_settings()
    pool = ModelProcesses(1, str(root / version), {"spacy_model": settings.spacy_model, "model_dir": str(root)},
                          version, retry_seconds=0.5)
    try:
        assert pool.status() == {"configured": 1, "running": 1, "state": "ok", "problem": None}
        original = _tamper(root / version / "model.joblib")
        pool._procs[0].process.kill()
        deadline = time.monotonic() + 30
        while pool.status()["state"] != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        status = pool.status()
        assert status["state"] == "failed" and status["running"] == 0 and "tampered" in status["problem"]
        assert pool.predict(TEXT) is None  # the server's own model answers instead
        (root / version / "model.joblib").write_bytes(original)
        deadline = time.monotonic() + 120
        while pool.status()["state"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pool.status() == {"configured": 1, "running": 1, "state": "ok", "problem": None}
        assert pool.predict(TEXT)["model_version"] == version
    finally:
        pool.close()
    assert pool.status()["state"] == "stopped"
