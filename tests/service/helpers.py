"""Helpers for the service tests: API keys, databases, `triage serve` in a subprocess."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


KEYS = {
    "queue": "queue-key-" + "q" * 24,
    "advisor": "advisor-key-" + "a" * 24,
    "reviewer": "reviewer-key-" + "r" * 24,
    "admin": "admin-key-" + "d" * 24,
}


API_KEYS_ENV = ",".join(f"{role}:{key}" for role, key in KEYS.items())


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def advisor_key(client, label: str, role: str = "advisor") -> dict[str, str]:
    """Headers with a stored key of its own (as `triage keys add --label` makes one) for the
    TestClient's server, which sees it at once: claims belong to keys, so two advisors need two."""
    from api.security import new_key, store_key

    runtime = client.app.state.runtime
    key = new_key()
    store_key(runtime.db, role, key, label)
    runtime.keys.refresh()
    return {"Authorization": f"Bearer {key}"}


def caller_headers(caller: str) -> dict[str, str]:
    """Headers for a role-matrix caller: no key, a wrong key, a malformed header, or a role's key."""
    if caller == "none":
        return {}
    if caller == "wrong":
        return {"Authorization": "Bearer " + "x" * 34}
    if caller == "malformed":
        return {"Authorization": "Basic " + KEYS["admin"]}
    return auth(caller)


def audit_record_id(http, triage_response, headers: dict[str, str] | None = None, timeout: float = 10.0) -> int:
    """The id of the audit record of a POST /v1/triage answer. The record is durable in the local
    outbox before the answer and reaches the database shortly after it (api/audit/writer.py): look
    it up by the answer's X-Audit-Record-Key until it is there."""
    key = triage_response.headers["x-audit-record-key"]
    deadline = time.monotonic() + timeout
    while True:
        r = http.get("/v1/audit/predictions", params={"request_key": key}, headers=headers or auth("reviewer"))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if items:
            assert len(items) == 1 and items[0]["request_key"] == key
            return items[0]["id"]
        if time.monotonic() > deadline:
            raise AssertionError(f"no audit record for request key {key} after {timeout:.0f} s")
        time.sleep(0.02)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def postgres_url_or_skip() -> str:
    url = os.environ.get("TRIAGE_TEST_POSTGRES_URL", "").strip()
    if not url:
        if in_ci():
            pytest.fail("TRIAGE_TEST_POSTGRES_URL is not set: in CI the PostgreSQL tests must run "
                        "(scripts/test.sh starts PostgreSQL with scripts/postgres.sh)")
        pytest.skip("TRIAGE_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)")
    return url


def _fresh_postgres_database(base_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    name = f"triage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", hide_parameters=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def make_settings(tmp_path: Path, database_url: str, **overrides):
    from api.settings import ApiSettings

    # In-process predictions for the many TestClient apps; servers (server_env) run the default.
    values = dict(data_dir=tmp_path / "data", database_url=database_url, api_keys=API_KEYS_ENV, model_processes=0)
    values.update(overrides)
    return ApiSettings(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`triage serve` in a subprocess on 127.0.0.1; output goes to a log file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> "Server":
        import httpx

        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "triage_cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not become ready in {timeout:.0f}s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(data_dir: Path, database_url: str | None = None, api_keys: str | None = API_KEYS_ENV,
               **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["TRIAGE_DATABASE_URL"] = database_url
    if api_keys is not None:
        env["TRIAGE_API_KEYS"] = api_keys
    for name in ("TRIAGE_SPACY_MODEL", "TRIAGE_MODEL_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


def unique_text() -> str:
    """A distinctive client text to look for in logs."""
    return f"mijn buurman Zwartkop{secrets.token_hex(4)} slaat zijn kinderen elke avond"



def copy_active_model(root: Path) -> tuple[Path, str]:
    """A model registry at `root` with a copy of the project's active model, made active there."""
    import shutil

    from triage.artifacts import active_version, set_active
    from triage.settings import get_settings

    source = Path(get_settings().model_dir)
    version = active_version(source)
    if version is None:
        pytest.fail(f"no active model in {source}: run scripts/setup.sh or `triage train`")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / version, root / version)
    set_active(root, version)
    return root, version


def clone_model(root: Path, version: str, new_version: str, **manifest_changes) -> Path:
    """A copy of a model version under another version name (the artifact and its sha256 are
    unchanged: the manifest is not hashed), with manifest fields changed."""
    import json
    import shutil

    target = root / new_version
    shutil.copytree(root / version, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = new_version
    manifest.update(manifest_changes)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def queue_items(client) -> list[dict]:
    """The advisor queue's items (asserting the read succeeded)."""
    r = client.get("/v1/queue", headers=auth("advisor"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def stored_triage_keys(db_url: str) -> list[str]:
    """The request keys of POST /v1/triage's audit records, read from the database directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [k for (k,) in conn.execute(text("SELECT request_key FROM audit_records WHERE source = 'triage'"))]
    finally:
        engine.dispose()


class BackgroundLoad:
    """Client threads running until the `with` block ends (subclasses set self._threads with their targets
    and read self._stop); what each thread records is the subclass's business."""

    join_seconds = 60

    def __init__(self, *targets):
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=t, args=args, daemon=True) for t, *args in targets]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.join_seconds)
