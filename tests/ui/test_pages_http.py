"""The page shells and GET /v1/me over plain HTTP (no browser): public shells without data, strict
security headers, static files, and the role of a key."""

from __future__ import annotations

import re

import httpx
import pytest

from ui.conftest import UI_KEYS

pytestmark = pytest.mark.slow


@pytest.fixture
def http(ui_server):
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("role, pages", [("advisor", ["/ui/queue"]), ("reviewer", ["/ui/audit"]),
                                         ("admin", ["/ui/queue", "/ui/audit"]), ("queue", [])])
def test_me_tells_the_role_of_any_valid_key(http, role, pages):
    r = http.get("/v1/me", headers={"Authorization": f"Bearer {UI_KEYS[role]}"})
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == role and body["pages"] == pages
    assert body["role_nl"] in ("adviseur", "beoordelaar", "beheerder", "chatplatform")
    assert UI_KEYS[role] not in r.text


def test_me_needs_a_valid_key(http):
    assert http.get("/v1/me").status_code == 401
    r = http.get("/v1/me", headers={"Authorization": "Bearer " + "x" * 30})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/ui/", "/ui/queue", "/ui/audit"])
def test_page_shells_are_public_hold_no_data_and_send_security_headers(http, api, path):
    chat_id = f"shell-{path.strip('/').replace('/', '-')}"
    api.chat(chat_id, "mijn buurman Zwartkop slaat zijn kinderen elke avond")
    r = http.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Zwartkop" not in r.text and "shell-" not in r.text
    assert '<html lang="nl">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    # no inline script: only JSON data blocks and scripts from the server
    for tag in re.findall(r"<script[^>]*>", r.text):
        assert 'type="application/json"' in tag or re.search(r'src="/ui/static/[a-z]+\.js\?v=[0-9a-f]{12}"', tag), tag


def test_static_files_and_the_root_redirect(http):
    for name in ("ui.css", "common.js", "queue.js", "audit.js", "home.js"):
        r = http.get(f"/ui/static/{name}")
        assert r.status_code == 200, name
    scripts = "".join(http.get(f"/ui/static/{n}").text for n in ("common.js", "queue.js", "audit.js", "home.js"))
    assert not re.search(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|eval\(", scripts)
    assert http.get("/ui/static/../routers/pages.py").status_code == 404
    r = http.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"
