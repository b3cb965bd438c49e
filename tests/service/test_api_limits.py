"""Bad input gets a clear 4xx that names the field, never a 500; client text never reaches the logs."""

from __future__ import annotations

import json
import logging

import pytest

from service.helpers import auth, unique_text
from triage.labels import MAX_TEXT_CHARS

Q, A = auth("queue"), auth("advisor")
JSON = {"content-type": "application/json"}


@pytest.fixture
def sclient(make_client, sqlite_url):
    return make_client(sqlite_url)


def _field(r) -> str:
    return r.json().get("field") or ""


def test_text_limits(sclient):
    r = sclient.post("/v1/triage", json={"text": "x" * (MAX_TEXT_CHARS + 1)}, headers=Q)
    assert r.status_code == 422 and _field(r) == "text" and "5000" in r.json()["message"]
    assert "xxxxx" not in r.text, "errors do not echo the input"
    assert sclient.post("/v1/triage", json={"text": "x" * MAX_TEXT_CHARS}, headers=Q).status_code == 200
    for bad in ("", "   \n\t ", None, 42, ["hoi"], {"t": 1}, "\x00\u200b"):
        r = sclient.post("/v1/triage", json={"text": bad}, headers=Q)
        assert r.status_code == 422 and _field(r) == "text", (bad, r.text)
    r = sclient.post("/v1/triage", json={}, headers=Q)
    assert r.status_code == 422 and _field(r) == "text"


def test_chat_id_and_advisor_limits(sclient):
    for bad in ("", "a" * 65, "has space", "slash/in/id", "../etc", "é", "-leading", 12):
        r = sclient.post("/v1/chats", json={"chat_id": bad, "text": "hoi"}, headers=Q)
        assert r.status_code == 422 and _field(r) == "chat_id", (bad, r.text)
    assert sclient.post("/v1/chats", json={"chat_id": "a" * 64, "text": "hoi"}, headers=Q).status_code == 201
    assert sclient.post("/v1/chats", json={"chat_id": "c.1:x_y-z", "text": "hoi"}, headers=Q).status_code == 201
    r = sclient.get("/v1/chats/" + "a" * 65, headers=A)
    assert r.status_code == 422 and _field(r) == "chat_id"
    r = sclient.get("/v1/chats/bad%20id", headers=A)
    assert r.status_code == 422 and _field(r) == "chat_id"
    for bad in ("", " ", "x" * 101, "a\nb", 5):  # the name is optional: the key is the claimer
        r = sclient.post("/v1/chats/c.1:x_y-z/claim", json={"advisor": bad}, headers=A)
        assert r.status_code == 422 and _field(r) == "advisor", (bad, r.text)
    r = sclient.post("/v1/chats/c.1:x_y-z/close", json={"outcome": "gezellig"}, headers=A)
    assert r.status_code == 422 and _field(r) == "outcome"


def test_body_size_limit(sclient):
    huge = json.dumps({"text": "a" * 70_000})
    r = sclient.post("/v1/triage", content=huge, headers={**Q, **JSON})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(100):
            yield b"a" * 1024

    r = sclient.post("/v1/triage", content=chunks(), headers={**Q, **JSON})
    assert r.status_code == 413
    r = sclient.post("/v1/chats", content=huge, headers={**Q, **JSON})
    assert r.status_code == 413


def test_malformed_requests_never_500(sclient):
    sclient.post("/v1/chats", json={"chat_id": "c1", "text": "hoi"}, headers=Q)
    # A claim needs no body fields (the key is the claimer): claimed already, a valid body gets 409.
    sclient.post("/v1/chats", json={"chat_id": "c2", "text": "hoi"}, headers=Q)
    sclient.post("/v1/chats/c2/claim", json={}, headers=auth("admin"))
    bodies = [b"", b"{", b"not json", b"[]", b"null", b"42", b'"text"', b'{"text": }', b"\xff\xfe\x00",
              b'{"text": "\\ud800"}', b'{"text": "a", "text": 5}', b'{"chat_id": ["x"], "text": {"a": 1}}',
              b'{"advisor": true, "outcome": 3, "urgency": null, "reason": []}', b"\x00" * 100]
    calls = [("post", "/v1/triage", Q), ("post", "/v1/chats", Q), ("post", "/v1/chats/c1/messages", Q),
             ("post", "/v1/chats/c2/claim", A), ("post", "/v1/chats/c1/release", A),
             ("post", "/v1/chats/c1/close", A), ("patch", "/v1/chats/c1/triage", A)]
    for method, path, headers in calls:
        for body in bodies:
            for content_type in ("application/json", "text/plain"):
                r = sclient.request(method, path, content=body, headers={**headers, "content-type": content_type})
                assert 400 <= r.status_code < 500, (method, path, body, content_type, r.status_code, r.text)
                error = r.json()
                assert error["detail"] and error["code"], (method, path, error)
                if r.status_code == 422:  # a bad input names its field, and the message starts with it
                    assert error["field"] and error["message"].startswith(f"{error['field']}:"), (method, path, error)
    for path in ("/v1/chats/%00", "/v1/chats/" + "%ff" * 10, "/v1/nothing"):
        r = sclient.get(path, headers=A)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    r = sclient.request("PUT", "/v1/queue", headers=A)
    assert r.status_code == 405
    r = sclient.post("/v1/triage", content=b"{}", headers={**Q, "content-type": "application/json",
                                                           "content-length": "nope"})
    assert 400 <= r.status_code < 500


# The language each text must get: Arabic is recognised; Dutch with emoji is Dutch; text too short or too
# garbled to tell falls back to Dutch (triage/language.py), not to whatever the classifier guesses.
@pytest.mark.parametrize("text, language", [
    ("hoi 👋🏽 ik weet niet wat ik moet doen 😢", "nl"),
    ("مرحبا، زوجي يضربني", "ar"),
    ("Zo̸͔̓ë̴͔ c̷o̶m̵b̷i̶n̷i̶n̷g̸", "nl"),
    ("\u202eevil rtl\u202c en \u200b zero width", "nl"),
    ("ＦＵＬＬＷＩＤＴＨ ｔｅｋｓｔ", "nl"),
    ("𝔪𝔞𝔱𝔥 𝔞𝔩𝔭𝔥𝔞𝔟𝔢𝔱", "nl"),
    ("\r\n\t tabs en regels \r\n", "nl"),
])
def test_unicode_text(sclient, text, language):
    r = sclient.post("/v1/triage", json={"text": text}, headers=Q)
    assert r.status_code == 200, r.text
    assert r.json()["language"] == language
    # Only a message not in Dutch carries the language review reason, and it names the language.
    language_reasons = [x for x in r.json()["review_reasons"] if x.startswith("language:")]
    assert language_reasons == ([] if language == "nl" else [f"language: not Dutch ({language})"])
    r = sclient.post("/v1/chats", json={"chat_id": f"u{abs(hash(text)) % 10**8}", "text": text}, headers=Q)
    assert r.status_code == 201


def test_raw_text_never_logged(make_client, db_url, caplog):
    """Capture every log record at DEBUG (SQLAlchemy's SQL log included) during the whole lifecycle,
    including errors, and look for the distinctive client text."""
    caplog.set_level(logging.DEBUG)
    secret = unique_text()
    marker = secret.split()[2]
    client = make_client(db_url)
    client.post("/v1/triage", json={"text": secret}, headers=Q)
    client.post("/v1/chats", json={"chat_id": "log-1", "text": secret}, headers=Q)
    client.post("/v1/chats", json={"chat_id": "log-1", "text": secret + " anders"}, headers=Q)  # 409
    client.post("/v1/chats/log-1/messages", json={"text": secret + " nog meer"}, headers=Q)
    client.post("/v1/triage", json={"text": secret * 200}, headers=Q)  # 422
    client.post("/v1/triage", content=json.dumps({"text": secret * 3000}), headers={**Q, **JSON})  # 413
    client.post("/v1/triage", content=secret.encode(), headers={**Q, **JSON})  # malformed JSON
    client.get("/v1/queue", headers=A)
    client.patch("/v1/chats/log-1/triage", json={"urgency": "high", "reason": "zie tekst"}, headers=A)
    client.post("/v1/chats/log-1/claim", json={"advisor": "Anouk"}, headers=A)
    client.post("/v1/chats/log-1/close", json={"outcome": "advice"}, headers=A)
    client.get("/metrics", headers=auth("admin"))
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 10, "the test must actually capture logs"
    assert "triage.api.access" in logged
    assert marker not in logged


def test_unexpected_error_is_a_clean_500(make_client, sqlite_url, caplog):
    client = make_client(sqlite_url)
    secret = unique_text()

    def boom(text):
        raise RuntimeError(f"model exploded on {text}")

    client.app.state.runtime.triager.predict = boom
    r = client.post("/v1/triage", json={"text": secret}, headers=Q)
    assert r.status_code == 500 and r.json() == {"detail": "internal error", "code": "internal_error"}
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "RuntimeError" in logged and secret.split()[2] not in logged
