"""Several server processes, one active model (the database's): an activation through one is
followed by every other process within seconds, while clients keep sending requests and none fails.

Real `triage serve` processes on PostgreSQL: two instances sharing one database, and one instance
with TRIAGE_WORKERS=2 (uvicorn workers balance per connection, so a fresh connection per request
reaches both). Both use a model registry of their own in tmp_path (a copy of the active model and a
clone of it under a new version name: same artifact, the gate passes on the recorded metrics)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from service.helpers import BackgroundLoad, auth, clone_model, server_env

Q, R, D = auth("queue"), auth("reviewer"), auth("admin")
TEXT = "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden"
NEXT = "20990101-000000-next"
POLL = "1"  # TRIAGE_MODEL_POLL_SECONDS: the follow lag asserted below allows for it and a model load
FOLLOW_LIMIT_SECONDS = 15.0


class Hammer(BackgroundLoad):
    """Threads that send POST /v1/triage to each URL in turn, recording every answer."""

    join_seconds = 30

    def __init__(self, urls: list[str], threads: int = 2, fresh_connections: bool = False):
        self.urls = urls
        self.fresh = fresh_connections
        # (url, time answered, status, model_version, time sent)
        self.answers: list[tuple[str, float, int, str | None, float]] = []
        self._lock = threading.Lock()
        super().__init__(*((self._run, i) for i in range(threads)))

    def _run(self, offset: int) -> None:
        n = offset
        client = httpx.Client(timeout=30)
        try:
            while not self._stop.is_set():
                url = self.urls[n % len(self.urls)]
                n += 1
                sent = time.monotonic()
                try:
                    if self.fresh:
                        r = httpx.post(url + "/v1/triage", json={"text": TEXT}, headers=Q, timeout=30)
                    else:
                        r = client.post(url + "/v1/triage", json={"text": TEXT}, headers=Q)
                    status, version = r.status_code, (r.json().get("model_version") if r.status_code == 200 else None)
                except httpx.HTTPError as exc:
                    status, version = -1, type(exc).__name__
                with self._lock:
                    self.answers.append((url, time.monotonic(), status, version, sent))
                time.sleep(0.02)
        finally:
            client.close()

    def failures(self) -> list:
        return [a for a in self.answers if a[2] != 200]

    def first_new(self, url: str | None, version: str) -> float | None:
        times = [t for u, t, s, v, _ in self.answers if v == version and (url is None or u == url)]
        return min(times) if times else None

    def old_after_new(self, url: str | None, old: str, new: str) -> list:
        """Answers with the old version to requests sent after that server (url None: any) had answered
        with the new one (a request sent earlier may still be on the old model when it ends)."""
        first = self.first_new(url, new)
        return [a for a in self.answers if first is not None and a[4] > first and a[3] == old
                and (url is None or a[0] == url)]


def _start_together(servers, envs: list[tuple[dict, str]]):
    """Start the servers in parallel (each loads a model: ~10 s on the 2-core machine)."""
    started, errors = {}, []

    def start(i, env, name):
        try:
            started[i] = servers(env, name)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i, env, name)) for i, (env, name) in enumerate(envs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [started[i] for i in range(len(envs))]


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.slow
def test_two_instances_follow_an_activation_through_one(servers, postgres_url, registry, tmp_path):
    root, version = registry
    clone_model(root, version, NEXT)
    common = dict(TRIAGE_MODEL_DIR=str(root), TRIAGE_MODEL_PROCESSES="0", TRIAGE_MODEL_POLL_SECONDS=POLL)
    a, b = _start_together(servers, [(server_env(tmp_path / "data-a", postgres_url, **common), "a"),
                                     (server_env(tmp_path / "data-b", postgres_url, **common), "b")])
    assert httpx.get(b.url + "/v1/models", headers=R).json()["active"] == version
    with Hammer([a.url, b.url]) as hammer:
        time.sleep(1.0)
        r = httpx.post(a.url + f"/v1/models/{NEXT}/activate", json={"reason": "nieuwe versie"}, headers=D,
                       timeout=300)
        assert r.status_code == 200, r.text
        activated = time.monotonic()
        assert r.json()["changed"] and r.json()["model_version"] == NEXT
        assert _wait_for(lambda: hammer.first_new(b.url, NEXT) is not None, FOLLOW_LIMIT_SECONDS), \
            f"instance b still serves {version} {FOLLOW_LIMIT_SECONDS:.0f} s after the activation"
        time.sleep(1.0)  # answers after the switch, from both
    lag = hammer.first_new(b.url, NEXT) - activated
    print(f"\ninstance b followed {lag:.1f} s after the activation answered; "
          f"{len(hammer.answers)} requests during the test")
    assert hammer.failures() == [], hammer.failures()[:5]
    assert len(hammer.answers) > 50
    for server in (a, b):  # a server that answered with the new version never goes back
        assert hammer.old_after_new(server.url, version, NEXT) == []
        models = httpx.get(server.url + "/v1/models", headers=R).json()
        assert models["active"] == models["serving"]["version"] == NEXT
        assert httpx.get(server.url + "/readyz").json()["model_version"] == NEXT
    # one activation, recorded once (the gate ran in a only); b logged that it followed
    activations = httpx.get(b.url + "/v1/models", headers=R).json()["activations"]
    assert [x["version"] for x in activations] == [version, NEXT] and activations[-1]["by"].startswith("api:")
    assert "activated elsewhere" in b.output() and "activated over the API" not in b.output()
    assert "activated over the API" in a.output()
    assert (root / "ACTIVE").read_text().strip() == NEXT


@pytest.mark.slow
def test_two_workers_follow_an_activation(servers, postgres_url, registry, tmp_path):
    """TRIAGE_WORKERS=2: the activation reaches one worker; the other follows (a fresh connection per
    request, so uvicorn hands requests to both workers)."""
    root, version = registry
    clone_model(root, version, NEXT)
    env = server_env(tmp_path / "data", postgres_url, TRIAGE_MODEL_DIR=str(root), TRIAGE_WORKERS="2",
                     TRIAGE_MODEL_POLL_SECONDS=POLL)
    (server,) = _start_together(servers, [(env, "workers")])
    # every worker is up (each loads its model after the parent's checks)
    assert _wait_for(lambda: server.output().count("triage API ready") >= 3, 60), server.output()[-2000:]
    with Hammer([server.url], fresh_connections=True) as hammer:
        time.sleep(1.0)
        r = httpx.post(server.url + f"/v1/models/{NEXT}/activate", headers=D, timeout=300)
        assert r.status_code == 200, r.text
        activated = time.monotonic()
        assert _wait_for(lambda: server.output().count("activated elsewhere") >= 1, FOLLOW_LIMIT_SECONDS), \
            server.output()[-2000:]
        followed = time.monotonic()
        time.sleep(1.5)
    print(f"\nthe other worker followed within {followed - activated:.1f} s; {len(hammer.answers)} requests")
    assert hammer.failures() == [], hammer.failures()[:5]
    # Requests sent after the follow: on a loaded machine one sent just before it may still be answered
    # by the old model, later than this moment, as it should.
    last = [a for a in hammer.answers if a[4] > followed]
    assert len(last) >= 10 and {a[3] for a in last} == {NEXT}, {a[3] for a in last}
    assert server.output().count("activated over the API") == 1
