"""End to end: `triage serve` (uvicorn) in a subprocess on 127.0.0.1, a first start without keys,
a kill -9 and a restart, and the logs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import httpx
import pytest

from service.helpers import ROOT, auth, server_env, unique_text


@pytest.mark.slow
def test_serve_first_start_kill_and_restart(servers, tmp_path):
    data = tmp_path / "data"
    env = server_env(data, api_keys=None, TRIAGE_LOG_LEVEL="debug")
    env.pop("TRIAGE_API_KEYS", None)
    secret = unique_text()
    marker = secret.split()[2]

    server = servers(env, "first")
    output = server.output()
    key_file = data / "admin.key"
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert output.count(key) == 1, "the admin key is printed once"
    assert f"{server.url}/docs" in output and str(key_file) in output
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/queue").status_code == 401
        assert http.get("/docs").status_code == 200
        for i, text in enumerate([secret, "hoi", "mijn man heeft een mes en bedreigt me nu"]):
            assert http.post("/v1/chats", json={"chat_id": f"e{i}", "text": text}, headers=headers).status_code == 201
        r = http.post("/v1/chats/e0/messages", json={"text": secret + " en nog iets"}, headers=headers)
        assert r.status_code == 200
        assert http.post("/v1/chats/e1/claim", json={"advisor": "Anouk"}, headers=headers).status_code == 200
        assert http.post("/v1/triage", json={"text": secret * 500}, headers=headers).status_code == 422
        before = http.get("/v1/queue", headers=headers).json()
        assert sorted(i["chat_id"] for i in before["items"]) == ["e0", "e2"]
        assert http.get("/metrics", headers=headers).status_code == 200

    server.kill()  # SIGKILL: no shutdown handlers run
    assert server.proc.returncode == -9

    again = servers(env, "second")
    assert key not in again.output(), "the key is not printed again"
    with httpx.Client(base_url=again.url, timeout=30) as http:
        after = http.get("/v1/queue", headers=headers).json()
        assert [i["chat_id"] for i in after["items"]] == [i["chat_id"] for i in before["items"]]
        assert http.get("/v1/chats/e1", headers=headers).json()["claimed_name"] == "Anouk"
        assert http.get("/v1/chats/e0", headers=headers).json()["message_count"] == 2
        assert http.post("/v1/chats/e0/claim", json={"advisor": "Bram"}, headers=headers).status_code == 200
    again.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal (exit status -15)
    assert again.proc.returncode in (0, -15)
    assert "Application shutdown complete" in again.output()

    logs = server.output() + again.output()
    assert "GET /v1/queue 200" in logs and "POST /v1/chats/e0/messages 200" in logs
    assert marker not in logs, "client text must never appear in the logs"


def _serve(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "triage_cli.main", "serve", "--port", "1", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_bad_guidance_card_stops_start_up(tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "kapot.md").write_text("---\nid: Kapot Kaart\ntitle: x\n---\n\ntekst\n", encoding="utf-8")
    env = server_env(tmp_path / "data", TRIAGE_GUIDANCE_DIR=str(cards))
    result = _serve(env)
    assert result.returncode == 2, result.stderr
    assert "guidance cards" in result.stderr and "kapot.md" in result.stderr and "source" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_stop_start_up(tmp_path):
    result = _serve(server_env(tmp_path / "data", api_keys="boss:" + "x" * 20))
    assert result.returncode == 2 and "unknown role 'boss'" in result.stderr
    result = _serve(server_env(tmp_path / "data", "mysql://u:secretpw@127.0.0.1/db"))
    assert result.returncode == 2 and "unsupported database" in result.stderr
    assert "secretpw" not in result.stderr + result.stdout
