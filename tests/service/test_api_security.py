"""API keys and roles: the whole matrix of endpoints x roles, key storage, the first admin key."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import create_engine, text

from service.helpers import advisor_key, caller_headers, KEYS, auth

# (method, path, body, roles allowed)
QUEUE_ROLES = {"queue", "admin"}
ADVISOR_ROLES = {"advisor", "admin"}
ENDPOINTS = [
    ("post", "/v1/triage", {"text": "hoi"}, QUEUE_ROLES),
    ("post", "/v1/chats", {"chat_id": "new-chat", "text": "hoi"}, QUEUE_ROLES),
    ("get", "/v1/chats/{id}", None, {"queue", "advisor", "admin"}),
    ("post", "/v1/chats/{id}/messages", {"text": "hallo"}, QUEUE_ROLES),
    ("get", "/v1/queue", None, ADVISOR_ROLES),
    ("post", "/v1/chats/{id}/claim", {"advisor": "Anouk"}, ADVISOR_ROLES),
    ("post", "/v1/chats/{id}/release", None, ADVISOR_ROLES),
    ("post", "/v1/chats/{id}/close", {"outcome": "advice"}, ADVISOR_ROLES),
    ("patch", "/v1/chats/{id}/triage", {"urgency": "high", "reason": "test"}, ADVISOR_ROLES),
    ("delete", "/v1/chats/{id}", None, QUEUE_ROLES),
    ("get", "/v1/chats", None, ADVISOR_ROLES),
    ("post", "/v1/chats/{id}/heartbeat", {"advisor": "Anouk"}, ADVISOR_ROLES),
    ("post", "/v1/chats/{id}/reassign", {"advisor": "env:advisor#2"}, {"admin"}),
    ("get", "/metrics", None, {"admin"}),
]
# What may be done to a chat another advisor's key has claimed: (method, path suffix, body).
CLAIM_ACTIONS = [
    ("post", "/heartbeat", {"advisor": "Anouk"}),
    ("patch", "/triage", {"urgency": "high", "reason": "test", "advisor": "Anouk"}),
    ("post", "/release", {"advisor": "Anouk"}),
    ("post", "/close", {"outcome": "advice", "advisor": "Anouk"}),
]
PUBLIC = [("get", "/healthz"), ("get", "/readyz"), ("get", "/docs"), ("get", "/openapi.json")]
# The page shells carry no data (the pages fetch it with the signed-in key): tests/ui/test_pages_http.py.
PAGE_SHELLS = [("get", "/"), ("get", "/ui"), ("get", "/ui/"), ("get", "/ui/queue"), ("get", "/ui/audit")]
# The audit and model endpoints are walked with every caller in tests/service/test_api_audit.py
# (AUDIT_ENDPOINTS); GET /v1/me in tests/ui/test_pages_http.py.
CALLERS = ["none", "wrong", "malformed", *KEYS]

_headers = caller_headers


def test_role_matrix(client):
    """Every endpoint x every caller: 401 without a valid key, 403 for a role without the right,
    2xx for a role with it (each allowed call gets a chat in the state it needs)."""
    seen = []
    for n, (method, path, body, allowed) in enumerate(ENDPOINTS):
        for caller in CALLERS:
            chat_id = f"m{n}-{caller}"
            setup = client.post("/v1/chats", json={"chat_id": chat_id, "text": "mijn vader slaat mij"},
                                headers=auth("queue"))
            assert setup.status_code == 201
            if path.endswith(("/release", "/close", "/heartbeat", "/reassign")):
                assert client.post(f"/v1/chats/{chat_id}/claim", json={"advisor": "Anouk"},
                                   headers=auth("advisor")).status_code == 200
            payload = dict(body) if body else None
            if payload and "chat_id" in payload:
                payload["chat_id"] = f"new-{n}-{caller}"
            r = client.request(method, path.replace("{id}", chat_id), json=payload, headers=_headers(caller))
            if caller in ("none", "wrong", "malformed"):
                expected = 401
                assert r.headers.get("www-authenticate") == "Bearer"
            elif caller in allowed:
                expected = 200 if method != "post" or path != "/v1/chats" else 201
            else:
                expected = 403
            assert r.status_code == expected, (method, path, caller, r.status_code, r.text)
            seen.append((method, path, caller))
    assert len(seen) == len(ENDPOINTS) * len(CALLERS)


def test_claims_are_personal(client):
    """A claimed chat is the claiming key's: another advisor key gets 403 `not_claimer` for every
    action on it, whatever name it gives; the claimer and an admin may act. The history names the
    key's label, never a name from the body as the actor."""
    anouk, bram = advisor_key(client, "Anouk de Vries"), advisor_key(client, "Bram Smit")
    for n, (method, suffix, body) in enumerate(CLAIM_ACTIONS):
        for caller, headers, expected in (("bram", bram, 403), ("anouk", anouk, 200), ("admin", auth("admin"), 200)):
            chat_id = f"p{n}-{caller}"
            client.post("/v1/chats", json={"chat_id": chat_id, "text": "mijn vader slaat mij"}, headers=auth("queue"))
            assert client.post(f"/v1/chats/{chat_id}/claim", json={"advisor": "Anouk"},
                               headers=anouk).status_code == 200
            r = client.request(method, f"/v1/chats/{chat_id}{suffix}", json=body, headers=headers)
            assert r.status_code == expected, (suffix, caller, r.text)
            chat = client.get(f"/v1/chats/{chat_id}", headers=auth("advisor")).json()
            if expected == 403:
                assert r.json()["code"] == "not_claimer" and "Anouk de Vries" in r.json()["detail"]
                assert chat["status"] == "claimed" and chat["override"] is None and chat["claimed_by"] == "Anouk de Vries"
            elif suffix != "/heartbeat":
                event = chat["history"][-1]
                assert event["actor"] == {"anouk": "Anouk de Vries", "admin": "env:admin#4"}[caller], event
    # A waiting chat is nobody's: any advisor may look at it, override it or close it.
    client.post("/v1/chats", json={"chat_id": "w", "text": "hoi"}, headers=auth("queue"))
    assert client.patch("/v1/chats/w/triage", json={"urgency": "high", "reason": "test"}, headers=bram).status_code == 200
    assert client.post("/v1/chats/w/close", json={"outcome": "other"}, headers=bram).status_code == 200


def test_one_shared_key_is_one_claimer(client):
    """Until personal accounts exist several advisors may share a key: the server cannot tell them
    apart, so the typed name is recorded as self-declared and decides nothing."""
    client.post("/v1/chats", json={"chat_id": "s", "text": "hoi"}, headers=auth("queue"))
    r = client.post("/v1/chats/s/claim", json={"advisor": "Anouk"}, headers=auth("advisor"))
    assert r.json()["claimed_by"] == "env:advisor#2" and r.json()["claimed_name"] == "Anouk"
    assert r.json()["history"][-1]["data"]["name"] == "Anouk"
    r = client.post("/v1/chats/s/release", json={"advisor": "Somebody Else"}, headers=auth("advisor"))
    assert r.status_code == 200 and r.json()["claimed_key"] is None


def _leaf_routes(routes):
    """Every route, also inside included routers (FastAPI >= 0.165 wraps them in _IncludedRouter)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


def test_matrix_covers_every_route(client):
    leaves = list(_leaf_routes(client.app.routes))
    assert any(getattr(r, "path", "") == "/v1/queue" for r in leaves)  # the walk reaches included routers
    routes = {(m.lower(), r.path) for r in leaves for m in getattr(r, "methods", None) or ()
              if m != "HEAD"}
    from service.audit.test_api_audit import AUDIT_ENDPOINTS

    covered = ({(m, p) for m, p, _, _ in ENDPOINTS} | {(m, p) for m, p, _, _ in AUDIT_ENDPOINTS} | set(PUBLIC)
               | set(PAGE_SHELLS) | {("get", "/v1/me")})
    routes = {(m, p.replace("{chat_id}", "{id}").replace("{record_id}", "{id}")) for m, p in routes}
    assert routes - covered <= {("get", "/docs/oauth2-redirect")}, routes - covered


def test_reviewer_is_a_valid_role_without_endpoints(client):
    assert client.get("/v1/queue", headers=auth("reviewer")).status_code == 403
    assert client.get("/v1/queue", headers=auth("reviewer")).json()["code"] == "forbidden"


def test_public_endpoints_reveal_nothing(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_metrics_can_be_public(make_client, sqlite_url):
    client = make_client(sqlite_url, metrics_public=True)
    assert client.get("/metrics").status_code == 200


def test_keys_are_stored_hashed(make_client, db_url, tmp_path):
    from api.security import hash_key, store_key

    client = make_client(db_url, api_keys="")
    runtime = client.app.state.runtime
    new = "stored-advisor-key-" + "z" * 20
    store_key(runtime.db, "advisor", new, "test")
    runtime.keys.refresh()
    assert client.get("/v1/queue", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key_hash, role FROM api_keys")).all()
    finally:
        engine.dispose()
    assert (hash_key(new).hex(), "advisor") in rows
    assert all(new not in h for h, _ in rows)
    with engine.connect() as conn:
        conn.execute(text("UPDATE api_keys SET revoked_at = created_at WHERE role = 'advisor'"))
        conn.commit()
    engine.dispose()
    runtime.keys.refresh()
    assert client.get("/v1/queue", headers={"Authorization": f"Bearer {new}"}).status_code == 401


def test_first_start_creates_an_admin_key(make_client, db_url, tmp_path, capsys):
    client = make_client(db_url, api_keys="")
    printed = capsys.readouterr().out
    key_file = tmp_path / "data" / "admin.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 40 and key in printed
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/queue", headers=headers).status_code == 200
    assert client.post("/v1/triage", json={"text": "hoi"}, headers=headers).status_code == 200
    # A second start finds the key: nothing new is created or printed.
    second = make_client(db_url, api_keys="")
    assert key not in capsys.readouterr().out
    assert key_file.read_text().strip() == key
    assert second.get("/v1/queue", headers=headers).status_code == 200


def test_configured_keys_mean_no_generated_key(make_client, sqlite_url, tmp_path):
    make_client(sqlite_url)
    assert not (tmp_path / "data" / "admin.key").exists()


@pytest.mark.parametrize("value, message", [
    ("boss:" + "k" * 20, "unknown role 'boss'"),
    ("queue", "must be role:key"),
    ("queue:short", "at least 16"),
])
def test_bad_api_keys_setting(value, message):
    from api.settings import ApiKeyConfigError, ApiSettings

    with pytest.raises(ApiKeyConfigError, match=message):
        ApiSettings(api_keys=value).parsed_api_keys()


def test_settings_from_environment(monkeypatch, tmp_path):
    from api.settings import ApiSettings

    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRIAGE_API_KEYS", "queue:" + "q" * 20 + ", advisor:" + "a" * 20)
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    settings = ApiSettings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'triage.sqlite3'}"
    assert [r for r, _ in settings.parsed_api_keys()] == ["queue", "advisor"]
    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/db")
    assert ApiSettings().resolved_database_url.startswith("postgresql+psycopg://")


def test_data_files_are_private(make_client, tmp_path):
    data = tmp_path / "data"
    client = make_client(f"sqlite:///{data / 'triage.sqlite3'}", api_keys="")
    client.post("/v1/triage", json={"text": "hoi"}, headers={"Authorization": "Bearer " + (data / "admin.key").read_text().strip()})
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("triage.sqlite3", "triage.sqlite3-wal", "admin.key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


def test_keys_cli_add_list_revoke(make_client, db_url, tmp_path, monkeypatch, capsys):
    """`triage keys`: a key added on the command line works in a running server (printed once, stored
    hashed); revoked, it is refused; bad input is a clear error."""
    import json

    from triage_cli.main import main

    for name in list(__import__("os").environ):
        if name.startswith("TRIAGE_") and name != "TRIAGE_SPACY_MODEL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    client = make_client(db_url, key_cache_seconds=0)
    capsys.readouterr()
    assert main(["keys", "add", "--role", "advisor", "--label", "A. Jansen", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    key = added["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/queue", headers=headers).status_code == 200
    assert client.post("/v1/triage", json={"text": "hoi"}, headers=headers).status_code == 403  # advisor only
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "advisor" in listing and "A. Jansen" in listing and "active" in listing and key not in listing
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row)
    engine.dispose()
    assert key not in stored
    assert main(["keys", "revoke", str(added["id"])]) == 0
    assert client.get("/v1/queue", headers=headers).status_code == 401
    capsys.readouterr()
    assert main(["keys", "revoke", str(added["id"])]) == 2
    assert "no active stored API key" in capsys.readouterr().err
    assert main(["keys", "add", "--role", "queue", "--label", "   "]) == 2
    assert "label is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["keys", "add", "--role", "boss", "--label", "x"])
