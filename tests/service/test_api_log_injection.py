"""Log injection (issue 13, item 11): no request can write a line of its own into the server log.

A real server at log level info; requests without a key whose paths carry encoded line breaks
(%0A, %0D), terminal escapes, Unicode line separators and bidi overrides, and raw control bytes
in the request line. Every log record must stay one line: the forged text appears only escaped,
inside the access line of its request, and never at the start of a line."""

from __future__ import annotations

import re
import socket
import time

import httpx

from service.helpers import KEYS, unique_text

FORGED = "2026-01-01 00:00:00,000 INFO triage.api: FORGED"
LINE_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


def _raw_request(server, request_line: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: test\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_paths_cannot_forge_log_lines(servers, tmp_path):
    from service.helpers import server_env

    server = servers(server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                TRIAGE_LOG_LEVEL="info", TRIAGE_MODEL_PROCESSES="0"))
    encoded = FORGED.replace(" ", "%20")
    paths = [
        f"/v1/queue%0A{encoded}",                    # line feed
        f"/v1/chats/x%0D%0A{encoded}",               # CR LF
        f"/v1/chats%0D{encoded}%1B[2K",              # carriage return, terminal escape
        f"/nothing-here%0A{encoded}",                # 404, no key needed
        f"/v1/queue%E2%80%A8{encoded}%C2%85x",       # U+2028 line separator, U+0085 next line
        f"/v1/queue%E2%80%AE{encoded}",              # U+202E right-to-left override
    ]
    statuses = []
    for path in paths:
        statuses.append(_raw_request(server, f"GET {path} HTTP/1.1".encode())[9:12])
    # Raw control bytes in the request line: refused by the HTTP parser with a fixed message.
    statuses.append(_raw_request(server, b"GET /v1/queue\x0b\x1b[2K HTTP/1.1")[9:12])
    statuses.append(_raw_request(server, b"GET /v1/queue\rINFO FORGED HTTP/1.1")[9:12])
    # An authenticated write: its text must not appear in the log either.
    text = unique_text()
    r = httpx.post(server.url + "/v1/chats", json={"chat_id": "log-1", "text": text},
                   headers={"Authorization": f"Bearer {KEYS['queue']}"}, timeout=30)
    assert r.status_code == 201
    assert set(statuses) <= {b"400", b"401", b"404"}, statuses
    time.sleep(0.3)
    log = server.output()
    lines = log.splitlines()
    forged = [line for line in lines if "FORGED" in line]
    assert len(forged) >= len(paths), log[-3000:]
    for line in forged:
        # Only inside an access line, escaped; never a line of its own.
        assert LINE_START.match(line) and " triage.api.access: GET " in line, line
        assert not line.startswith(FORGED)
        assert not any(c in line for c in "\x1b\x0b\x85\u2028\u202e"), line
    assert "\\x0a" + FORGED in log and "\\x0d" in log and "\\u2028" in log and "\\u202e" in log and "\\x1b" in log
    for line in lines:  # every line is a log record's start or a part of a server banner/stack
        assert "\r" not in line
    assert text not in log
