"""scripts/cluster.sh for real: PostgreSQL, two API instances and nginx (Debian's package).

Under a steady load through the proxy (GET /v1/queue, POST /v1/chats with new chat ids), one
instance is stopped and started again: no GET fails, no POST fails (nginx retries POST /v1/chats
on the other instance only because it is idempotent by chat id), and every acknowledged chat is in
the database. Then a model version is activated through the proxy and both instances, asked
directly, serve it within seconds, still without a failed request.

Runs when nginx is installed or can be installed (root and apt-get; the script installs
nginx-light), and PostgreSQL is there (TRIAGE_TEST_POSTGRES_URL; each run gets a database of its
own). About 60 s on the 2-core machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from service.helpers import (API_KEYS_ENV, BackgroundLoad, ROOT, _fresh_postgres_database, auth, clone_model, copy_active_model,
                             free_port, postgres_url_or_skip)

SCRIPT = ROOT / "scripts" / "cluster.sh"
TEXT = "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden"
NEXT = "20990101-000000-cluster"


def _nginx_installable() -> str | None:
    """None if nginx is there or the script can install it; else why not."""
    if shutil.which("nginx") or Path("/usr/sbin/nginx").is_file():
        return None
    if os.geteuid() != 0:
        return "nginx is not installed and installing it (apt-get install nginx-light) needs root"
    if not shutil.which("apt-get"):
        return "nginx is not installed and there is no apt-get to install it"
    return None


@pytest.fixture
def cluster(tmp_path):
    reason = _nginx_installable()
    if reason:
        pytest.skip(reason)
    url, drop = _fresh_postgres_database(postgres_url_or_skip())
    root, version = copy_active_model(tmp_path / "models")
    clone_model(root, version, NEXT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_CLUSTER_DIR=str(tmp_path / "cluster"), TRIAGE_CLUSTER_PORT=str(free_port()),
               TRIAGE_DATABASE_URL=url, TRIAGE_API_KEYS=API_KEYS_ENV, TRIAGE_MODEL_DIR=str(root),
               TRIAGE_MODEL_POLL_SECONDS="1")
    if "TRIAGE_SPACY_MODEL" in os.environ:
        env["TRIAGE_SPACY_MODEL"] = os.environ["TRIAGE_SPACY_MODEL"]

    def run(*args: str, timeout: float = 300, check: bool = True) -> str:
        done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0 or not check, f"cluster.sh {' '.join(args)}: {done.stderr[-3000:]}"
        return done.stdout.strip()

    try:
        proxy = run("start")
        yield proxy, run, tmp_path / "cluster", version
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60)
        drop()


class Load(BackgroundLoad):
    """GET /v1/queue and POST /v1/chats through the proxy, one thread each, every answer recorded."""

    def __init__(self, proxy: str):
        self.proxy = proxy
        self.gets: list[tuple[float, int]] = []
        self.posts: list[tuple[float, int, str]] = []
        super().__init__((self._get,), (self._post,))

    def _status(self, send) -> int:
        try:
            return send().status_code
        except httpx.HTTPError:
            return -1

    def _get(self):
        with httpx.Client(base_url=self.proxy, timeout=30) as http:
            while not self._stop.is_set():
                status = self._status(lambda: http.get("/v1/queue", headers=auth("advisor")))
                self.gets.append((time.monotonic(), status))
                time.sleep(0.02)

    def _post(self):
        with httpx.Client(base_url=self.proxy, timeout=30) as http:
            while not self._stop.is_set():
                chat_id = f"cluster-{uuid.uuid4().hex[:12]}"
                status = self._status(lambda: http.post("/v1/chats", json={"chat_id": chat_id, "text": TEXT},
                                                        headers=auth("queue")))
                self.posts.append((time.monotonic(), status, chat_id))
                time.sleep(0.02)


def _port(cluster_dir: Path, instance: int) -> int:
    return int((cluster_dir / f"instance-{instance}" / "port").read_text())


def _serves(port: int) -> str | None:
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/triage", json={"text": TEXT}, headers=auth("queue"), timeout=10)
    except httpx.HTTPError:
        return None
    return r.json().get("model_version") if r.status_code == 200 else None


@pytest.mark.slow
def test_stopping_an_instance_under_load_loses_nothing(cluster):
    proxy, run, cluster_dir, version = cluster
    assert "instance 2: ready" in run("status")
    with Load(proxy) as load:
        time.sleep(2)
        stopped_at = time.monotonic()
        run("stop-instance", "1")
        assert "instance 1: down" in run("status", check=False)
        time.sleep(3)
        run("start-instance", "1")  # ~10 s to load the model; the other instance answers meanwhile
        rejoined_at = time.monotonic()
        time.sleep(2)
        r = httpx.post(f"{proxy}/v1/models/{NEXT}/activate", json={"reason": "clustertest"}, headers=auth("admin"),
                       timeout=300)
        assert r.status_code == 200, r.text
        activated_at = time.monotonic()
        deadline = activated_at + 15
        while time.monotonic() < deadline and {_serves(_port(cluster_dir, i)) for i in (1, 2)} != {NEXT}:
            time.sleep(0.2)
        followed = time.monotonic() - activated_at
        time.sleep(1)
    print(f"\n{len(load.gets)} GET and {len(load.posts)} POST through the proxy; the other instance served "
          f"{NEXT} {followed:.1f} s after the activation answered")
    assert {_serves(_port(cluster_dir, i)) for i in (1, 2)} == {NEXT}, "both instances serve the activated version"
    assert [g for g in load.gets if g[1] != 200] == []
    assert [p for p in load.posts if p[1] not in (200, 201)] == []
    # the load really ran while instance 1 was down, and after it came back
    assert sum(1 for t, _ in load.gets if stopped_at < t < rejoined_at) >= 20
    assert sum(1 for t, *_ in load.posts if stopped_at < t < rejoined_at) >= 10
    acknowledged = [chat_id for _, status, chat_id in load.posts if status in (200, 201)]
    with httpx.Client(base_url=proxy, timeout=30) as http:
        missing = [c for c in acknowledged if http.get(f"/v1/chats/{c}", headers=auth("queue")).status_code != 200]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged chats are not in the database"
