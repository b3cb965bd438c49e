"""Authentication before work and slow clients (issue 13, item 7), on a real server over raw sockets.

An unauthenticated request costs nothing: its 401 comes before the body is read (the server does
not wait for an announced body) and the connection is closed. A client that trickles its headers
or body is cut off after TRIAGE_HEADER_TIMEOUT_SECONDS / TRIAGE_BODY_TIMEOUT_SECONDS, however
steadily it keeps sending; oversized headers get 431."""

from __future__ import annotations

import json
import socket
import time

import pytest

from service.helpers import KEYS, Server, server_env

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slow-clients")
    env = server_env(tmp / "data", f"sqlite:///{tmp / 'db' / 'triage.sqlite3'}", TRIAGE_MODEL_PROCESSES="0",
                     TRIAGE_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT), TRIAGE_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT))
    server = Server(env, tmp / "server.log").start()
    yield server
    server.stop()


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def _response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("authorization,code", [(None, "unauthenticated"), ("Bearer " + "x" * 40, "invalid_key"),
                                                ("Basic " + KEYS["queue"], "unauthenticated")])
def test_unauthenticated_body_is_never_read(server, authorization, code):
    """Headers announce a body (within the size limit) that never comes: the 401 comes at once,
    not after the body deadline, and the connection is closed rather than read further."""
    sock = _connect(server)
    head = ("POST /v1/chats HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            "Content-Length: 60000\r\n" + (f"Authorization: {authorization}\r\n" if authorization else "") + "\r\n")
    t0 = time.perf_counter()
    sock.sendall(head.encode())
    raw = _read_until_closed(sock)
    elapsed = time.perf_counter() - t0
    sock.close()
    status, headers, body = _response(raw)
    assert status == 401 and json.loads(body)["code"] == code
    assert headers["www-authenticate"] == "Bearer" and headers["connection"] == "close"
    assert elapsed < BODY_TIMEOUT / 2, f"the 401 took {elapsed:.2f} s"


def test_trickled_headers_are_cut_off(server):
    """One header byte every 0.2 s keeps no connection beyond the header deadline: 408, closed."""
    sock = _connect(server)
    sock.sendall(b"GET /v1/queue HTTP/1.1\r\nHost: test\r\nX-Slow: ")
    t0 = time.perf_counter()
    received = b""
    sock.setblocking(False)
    while time.perf_counter() - t0 < HEADER_TIMEOUT + 5:
        try:
            sock.send(b"a")
        except OSError:
            break
        time.sleep(0.2)
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            break
        received += chunk
        if not chunk or received:
            break
    elapsed = time.perf_counter() - t0
    sock.close()
    assert received.startswith(b"HTTP/1.1 408"), received[:80]
    assert HEADER_TIMEOUT - 0.3 < elapsed < HEADER_TIMEOUT + 2, elapsed


def test_idle_connection_is_closed(server):
    sock = _connect(server)
    t0 = time.perf_counter()
    raw = _read_until_closed(sock)  # sends nothing at all
    elapsed = time.perf_counter() - t0
    sock.close()
    assert raw.startswith(b"HTTP/1.1 408") and elapsed < HEADER_TIMEOUT + 2, (raw[:60], elapsed)


def test_slow_body_gets_408(server):
    sock = _connect(server)
    body = json.dumps({"chat_id": "slow-body", "text": "mijn vader slaat mij"}).encode()
    sock.sendall(b"POST /v1/chats HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + KEYS["queue"].encode() + b"\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
    t0 = time.perf_counter()
    raw = _read_until_closed(sock)
    elapsed = time.perf_counter() - t0
    sock.close()
    status, headers, payload = _response(raw)
    assert status == 408 and json.loads(payload) == {
        "detail": f"the request body did not arrive within {BODY_TIMEOUT:g} s", "code": "body_timeout", "field": "body"}
    assert headers["connection"] == "close" and BODY_TIMEOUT - 0.3 < elapsed < BODY_TIMEOUT + 2


def test_oversized_headers_get_431(server):
    sock = _connect(server)
    sock.sendall(b"GET /v1/queue HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
    raw = _read_until_closed(sock)
    sock.close()
    assert raw.startswith(b"HTTP/1.1 431")


def test_keep_alive_requests_still_work(server):
    """The header deadline starts again for each request on a keep-alive connection."""
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEYS['advisor']}"}) as http:
        for _ in range(3):
            assert http.get("/v1/queue").status_code == 200
            time.sleep(HEADER_TIMEOUT / 2)
        r = http.post("/v1/chats", json={"chat_id": "x", "text": "hoi"})
        assert r.status_code == 403  # a valid key of the wrong role: the route's check, after the body
