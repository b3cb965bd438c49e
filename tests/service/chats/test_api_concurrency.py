"""Claims are atomic: exactly one winner per chat, with threads in one process and with two server
processes sharing one database (PostgreSQL, and a SQLite file)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.domain_errors import ChatError
from api.errors import from_domain
from api.chats.schemas import MessageCreate
from api.security import Principal
from service.helpers import auth, server_env

Q, A = auth("queue"), auth("advisor")


def test_concurrent_claims_in_one_process(client):
    service = client.app.state.runtime.service
    chats = [f"race-{i}" for i in range(10)]
    for chat_id in chats:
        assert client.post("/v1/chats", json={"chat_id": chat_id, "text": "hoi"}, headers=Q).status_code == 201

    def claim(args):
        chat_id, n = args
        try:
            service.claim(chat_id, Principal("advisor", f"advisor {n}", f"key-{n:012d}"))
            return chat_id, 200
        except ChatError as exc:
            return chat_id, from_domain(exc).status

    jobs = [(chat_id, n) for chat_id in chats for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, jobs))
    per_chat = {c: Counter(s for cid, s in results if cid == c) for c in chats}
    for chat_id, counts in per_chat.items():
        assert counts == Counter({200: 1, 409: 7}), (chat_id, counts)


def test_concurrent_messages_are_all_kept(client):
    service = client.app.state.runtime.service
    client.post("/v1/chats", json={"chat_id": "busy", "text": "hoi"}, headers=Q)

    def send(n):
        try:
            service.add_message("busy", MessageCreate(text=f"bericht {n}"))
            return 200
        except ChatError as exc:
            return from_domain(exc).status

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(send, range(6)))
    assert set(statuses) <= {200, 409}
    chat = client.get("/v1/chats/busy", headers=A).json()
    assert chat["message_count"] == 1 + statuses.count(200)
    assert statuses.count(200) >= 3


@pytest.mark.slow
def test_two_server_processes_share_the_queue(db_url, servers, tmp_path):
    """Two uvicorn processes on loopback, one database: many concurrent claims on the same chats
    through both, exactly one 200 per chat."""
    one = servers(server_env(tmp_path / "data1", db_url), "one")
    two = servers(server_env(tmp_path / "data2", db_url), "two")
    n_chats, claims_per_chat = 20, 8
    with httpx.Client(timeout=30) as http:
        for i in range(n_chats):
            base = (one, two)[i % 2].url
            r = http.post(f"{base}/v1/chats", json={"chat_id": f"p{i}", "text": "mijn vader slaat mij"}, headers=Q)
            assert r.status_code == 201, r.text
        for server in (one, two):
            assert http.get(f"{server.url}/v1/queue", headers=A).json()["count"] == n_chats

    def claim(job):
        chat_id, n = job
        base = (one, two)[n % 2].url
        with httpx.Client(timeout=30) as http:
            r = http.post(f"{base}/v1/chats/{chat_id}/claim", json={"advisor": f"advisor-{n}"}, headers=A)
        return chat_id, r.status_code

    jobs = [(f"p{i}", n) for n in range(claims_per_chat) for i in range(n_chats)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(claim, jobs))
    for i in range(n_chats):
        counts = Counter(status for chat_id, status in results if chat_id == f"p{i}")
        assert counts == Counter({200: 1, 409: claims_per_chat - 1}), (f"p{i}", counts)
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{two.url}/v1/queue", headers=A).json()["count"] == 0
        winners = {http.get(f"{one.url}/v1/chats/p{i}", headers=A).json()["claimed_by"] for i in range(n_chats)}
    assert None not in winners
