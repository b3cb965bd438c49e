"""Model versions over the API: the list, activation behind the quality gate, a hot swap in the
running server (also with model processes), and failures that leave the old model serving.

Each test has a model registry of its own (a copy of the active model in tmp_path), never the
project's models/. The gate runs for real (in a spawned process): the service compares the metrics
recorded in the manifests and predicts the reviewed gold records (none here; the end-to-end test
has them)."""

from __future__ import annotations

import json

import pytest

from service.helpers import auth, clone_model

Q, R, D = auth("queue"), auth("reviewer"), auth("admin")
TEXT = "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden"


def _version(client) -> str:
    r = client.post("/v1/triage", json={"text": TEXT}, headers=Q)
    assert r.status_code == 200, r.text
    return r.json()["model_version"]


def test_list_models(make_registry_client, sqlite_url, registry):
    root, version = registry
    clone_model(root, version, "20990101-000000-candidate")
    (root / "not-a-model").mkdir()
    client = make_registry_client(sqlite_url)
    r = client.get("/v1/models", headers=R)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] == version and body["serving"]["version"] == version
    by_name = {v["version"]: v for v in body["versions"]}
    assert set(by_name) == {version, "20990101-000000-candidate"}
    current = by_name[version]
    assert current["active"] and current["serving"] and current["compatible"] and current["sha256"]
    assert current["metrics"] and all("acute_recall" in m for m in current["metrics"].values())
    assert not by_name["20990101-000000-candidate"]["active"]


def test_list_shows_the_integrity_of_every_artifact(make_registry_client, sqlite_url, registry):
    """A changed artifact (even with its old modification time restored) is `tampered` and not
    compatible; a removed one `missing`; the serving version's own file is checked too."""
    import os

    root, version = registry
    intact = clone_model(root, version, "intact")
    gone = clone_model(root, version, "gone")
    (gone / "model.joblib").unlink()
    client = make_registry_client(sqlite_url)
    by_name = {v["version"]: v for v in client.get("/v1/models", headers=R).json()["versions"]}
    assert by_name[version]["integrity"] == by_name["intact"]["integrity"] == "ok"
    assert by_name["intact"]["compatible"] and by_name["intact"]["problem"] is None
    assert by_name["gone"]["integrity"] == "missing" and by_name["gone"]["compatible"] is False
    assert "missing" in by_name["gone"]["problem"]
    for target in (intact, root / version):  # after a first list, so a cached hash must not hide it
        artifact = target / "model.joblib"
        stat = artifact.stat()
        data = bytearray(artifact.read_bytes())
        data[len(data) // 3] ^= 0x01
        artifact.write_bytes(bytes(data))
        os.utime(artifact, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    body = client.get("/v1/models", headers=R).json()
    by_name = {v["version"]: v for v in body["versions"]}
    for name in ("intact", version):
        assert by_name[name]["integrity"] == "tampered" and by_name[name]["compatible"] is False, by_name[name]
        assert "sha256" in by_name[name]["problem"]
    # the model in memory was verified when it was loaded and keeps serving
    assert by_name[version]["serving"] and body["serving"]["version"] == version
    assert _version(client) == version


def test_failed_activation_leaves_the_old_model_serving(make_registry_client, sqlite_url, registry):
    root, version = registry
    client = make_registry_client(sqlite_url)
    r = client.post("/v1/models/no-such-version/activate", headers=D)
    assert r.status_code == 404 and r.json()["code"] == "model_not_found"
    assert client.post("/v1/models/..%2Fetc/activate", headers=D).status_code in (404, 422)
    r = client.post(f"/v1/models/{version}/activate", json={"force": True}, headers=D)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    # a changed artifact fails its checksum: refused before it is unpickled
    tampered = clone_model(root, version, "tampered")
    data = bytearray((tampered / "model.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tampered / "model.joblib").write_bytes(bytes(data))
    r = client.post("/v1/models/tampered/activate", json={"force": True, "reason": "test"}, headers=D)
    assert r.status_code == 422 and r.json()["code"] == "model_load_failed", r.text
    assert "sha256" in r.json()["detail"] and "keeps serving" in r.json()["detail"]
    # a model trained with another spaCy pipeline
    clone_model(root, version, "other-pipeline", spacy_pipeline={"name": "xx_other_pipeline", "version": "1.0"})
    r = client.post("/v1/models/other-pipeline/activate", headers=D)
    assert r.status_code == 422 and "TRIAGE_SPACY_MODEL" in r.json()["detail"]
    assert (root / "ACTIVE").read_text().strip() == version
    assert _version(client) == version
    assert client.get("/v1/models", headers=R).json()["serving"]["version"] == version


@pytest.mark.slow
def test_activation_hot_swaps_the_model(make_registry_client, sqlite_url, registry):
    root, version = registry
    clone_model(root, version, "20990101-000000-next")
    client = make_registry_client(sqlite_url)
    before = client.post("/v1/triage", json={"text": TEXT}, headers=Q).json()
    assert before["model_version"] == version
    r = client.post("/v1/models/20990101-000000-next/activate", json={"reason": "nieuwe versie"}, headers=D)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] and body["passed_gate"] and not body["forced"] and body["previous"] == version
    assert body["model_version"] == "20990101-000000-next"
    recorded = json.loads((root / version / "manifest.json").read_text())["metrics"]
    assert set(body["comparison"]["sets"]) == {f"{name} (recorded at training)" for name in recorded}
    after = client.post("/v1/triage", json={"text": TEXT}, headers=Q).json()
    assert after["model_version"] == "20990101-000000-next"
    assert {k: v for k, v in after.items() if k != "model_version"} == \
        {k: v for k, v in before.items() if k != "model_version"}, "same artifact, same predictions"
    models = client.get("/v1/models", headers=R).json()
    assert models["active"] == models["serving"]["version"] == "20990101-000000-next"
    assert models["activations"][-1]["by"] == "api:env:admin#4" and models["activations"][-1]["passed_gate"]
    assert (root / "ACTIVE").read_text().strip() == "20990101-000000-next"
    metrics = client.get("/metrics", headers=D).text
    assert 'triage_model_info{spacy_pipeline="' in metrics and 'version="20990101-000000-next"' in metrics
    assert f'version="{version}"' not in metrics
    # the queue's new triages carry the new version too (and their audit records)
    r = client.post("/v1/chats", json={"chat_id": "after-swap", "text": TEXT}, headers=Q)
    assert r.json()["prediction"]["model_version"] == "20990101-000000-next"
    assert client.app.state.runtime.audit_writer.flush(10)  # POST /v1/triage's record is written behind
    records = client.get("/v1/audit/predictions", params={"model_version": "20990101-000000-next"}, headers=R)
    assert records.json()["total"] == 2
    # activating what already serves is a no-op
    r = client.post("/v1/models/20990101-000000-next/activate", headers=D)
    assert r.status_code == 200 and r.json()["changed"] is False


@pytest.mark.slow
def test_hot_swap_with_model_processes(make_registry_client, sqlite_url, registry):
    """TRIAGE_MODEL_PROCESSES > 0: the pool is swapped too (a new pool with the new model is
    started before the swap; the old one finishes its queued predictions and ends)."""
    root, version = registry
    clone_model(root, version, "20990101-000000-pool")
    client = make_registry_client(sqlite_url, model_processes=1)
    triager = client.app.state.runtime.triager
    old_pool = triager.processes
    assert old_pool is not None and old_pool.version == version
    r = client.post("/v1/models/20990101-000000-pool/activate", headers=D)
    assert r.status_code == 200, r.text
    assert triager.processes is not old_pool and triager.processes.version == "20990101-000000-pool"
    assert old_pool.predict("hoi") is None, "the old pool takes no more predictions"
    assert triager.processes.predict(TEXT)["model_version"] == "20990101-000000-pool"
    assert _version(client) == "20990101-000000-pool"


def test_gate_refuses_worse_recorded_metrics_and_data_that_differ(make_registry_client, sqlite_url, registry):
    """The service's gate reads the metrics training recorded (no corpus): a candidate whose recorded
    acute recall is lower is refused with the set named; a set measured on other data (its
    eval_data digest differs) is not compared, and a gate that compared nothing refuses."""
    root, version = registry
    manifest = json.loads((root / version / "manifest.json").read_text())
    name = next(n for n, m in manifest["metrics"].items() if m["urgency"]["per_class"]["acute"]["support"])
    worse = json.loads(json.dumps(manifest["metrics"]))
    worse[name]["urgency"]["acute_recall"] = round(worse[name]["urgency"]["acute_recall"] - 0.2, 4)
    clone_model(root, version, "worse", metrics=worse)
    client = make_registry_client(sqlite_url)
    r = client.post("/v1/models/worse/activate", headers=D)
    assert r.status_code == 409 and r.json()["code"] == "quality_gate_failed", r.text
    assert any(f.startswith(f"{name} (recorded at training): acute recall") for f in r.json()["failures"])
    # the same figures, but every set measured on other data: nothing to compare
    clone_model(root, version, "other-data", eval_data={n: "0" * 64 for n in manifest["metrics"]})
    (root / version / "manifest.json").write_text(json.dumps(
        {**manifest, "eval_data": {n: "1" * 64 for n in manifest["metrics"]}}), encoding="utf-8")
    r = client.post("/v1/models/other-data/activate", headers=D)
    assert r.status_code == 409 and r.json()["comparison"]["not_compared"] == list(manifest["metrics"]), r.text
    assert r.json()["failures"][0].startswith("no held-out set to compare")
    assert (root / "ACTIVE").read_text().strip() == version and _version(client) == version


def test_only_one_activation_at_a_time(make_registry_client, sqlite_url, registry):
    root, version = registry
    clone_model(root, version, "other")
    client = make_registry_client(sqlite_url)
    registry_ = client.app.state.runtime.services.registry
    registry_._lock.acquire()
    try:
        r = client.post("/v1/models/other/activate", headers=D)
        assert r.status_code == 409 and r.json()["code"] == "activation_in_progress"
    finally:
        registry_._lock.release()
    assert (root / "ACTIVE").read_text().strip() == version


def test_an_activation_recorded_elsewhere_during_the_gate_wins(make_registry_client, sqlite_url, registry):
    """Another server records an activation while this one gates: this one records nothing and
    swaps nothing (409 activation_conflict), and then follows the other's version like any
    process does."""
    root, version = registry
    clone_model(root, version, "mine")
    clone_model(root, version, "theirs")
    client = make_registry_client(sqlite_url)
    registry_ = client.app.state.runtime.services.registry
    pointer = registry_.pointer

    def other_server_activates(gold):
        pointer.record("theirs", supersedes=pointer.newest(), by="api:elsewhere")
        return {}

    registry_.gate_sets = other_server_activates
    r = client.post("/v1/models/mine/activate", headers=D)
    assert r.status_code == 409 and r.json()["code"] == "activation_conflict", r.text
    assert "theirs" in r.json()["detail"]
    assert (root / "ACTIVE").read_text().strip() == version and _version(client) == version
    assert [a["version"] for a in client.get("/v1/models", headers=R).json()["activations"]] == [version, "theirs"]
    assert registry_.follow_once() is True
    assert _version(client) == "theirs"
    assert client.get("/v1/models", headers=R).json()["serving"]["version"] == "theirs"


def test_an_active_version_this_server_cannot_load_makes_it_not_ready(make_registry_client, sqlite_url, registry):
    """The database names a version this machine does not have: the old model keeps answering,
    /readyz says why (503, so a proxy sends requests elsewhere), and it recovers once it can."""
    root, version = registry
    client = make_registry_client(sqlite_url)
    registry_ = client.app.state.runtime.services.registry
    assert client.get("/readyz").json()["model_version"] == version
    registry_.pointer.record("not-here", supersedes=registry_.pointer.newest(), by="api:elsewhere")
    assert registry_.follow_once() is False
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "not-here cannot be loaded here" in ready.json()["checks"]["model"]
    assert _version(client) == version
    registry_.pointer.record(version, supersedes=registry_.pointer.newest(), by="api:elsewhere")
    registry_.follow_once()
    assert client.get("/readyz").status_code == 200 and _version(client) == version
