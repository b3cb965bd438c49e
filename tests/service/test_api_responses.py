"""Answers are validated by their response model (api/responses.py, api/queue/view.py): a body
that breaks its model is a 500 with a logged error that says where, never a silent wrong answer,
and the log never holds the chat text the body carried."""

from __future__ import annotations

import logging

from service.helpers import auth, unique_text

Q, A = auth("queue"), auth("advisor")
INTERNAL = {"detail": "internal error", "code": "internal_error"}


def _logged(caplog) -> str:
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


def test_a_chat_that_breaks_its_model_is_a_500_with_a_logged_error(make_client, sqlite_url, caplog, monkeypatch):
    client = make_client(sqlite_url)
    secret = unique_text()
    r = client.post("/v1/chats", json={"chat_id": "resp-1", "text": secret}, headers=Q)
    assert r.status_code == 201 and r.json()["messages"][0]["text"] == secret  # the body carries chat text

    chats = client.app.state.runtime.services.chats
    real_view = chats.view
    # a status the model does not know, and a number that is not one; the messages (chat text) stay
    monkeypatch.setattr(chats, "view", lambda *a, **k: {**real_view(*a, **k), "status": "asleep",
                                                        "waiting_seconds": "a while"})
    caplog.set_level(logging.INFO)
    r = client.get("/v1/chats/resp-1", headers=A)
    assert r.status_code == 500 and r.json() == INTERNAL
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1, _logged(caplog)
    message = errors[0].getMessage()
    assert "GET /v1/chats/{chat_id}" in message and "ChatDetail" in message
    assert "status: literal_error" in message and "waiting_seconds: float_parsing" in message
    logged = _logged(caplog)
    assert secret not in logged and "asleep" not in logged and "a while" not in logged


def test_a_queue_entry_that_breaks_its_model_is_a_500(make_client, sqlite_url, caplog):
    """GET /v1/queue splices each chat's stored JSON: a stored summary that breaks QueueEntry is
    found when the chat's version is cached, and the queue answers 500 instead of sending it."""
    from sqlalchemy import update

    from api.db.models import Chat

    client = make_client(sqlite_url)
    secret = unique_text()
    client.post("/v1/chats", json={"chat_id": "resp-q", "text": secret}, headers=Q)
    r = client.get("/v1/queue", headers=A)
    marker = secret.split()[2]  # the distinctive word of the chat text
    assert r.status_code == 200 and marker in r.json()["items"][0]["preview"]  # the queue carries chat text
    db = client.app.state.runtime.services.db
    with db.write() as session:
        chat = session.get(Chat, "resp-q")
        broken = {**chat.summary, "triage": {**chat.summary["triage"], "urgency": "urgent"}}
        session.execute(update(Chat).where(Chat.chat_id == "resp-q").values(summary=broken, version=chat.version + 1))
    caplog.set_level(logging.INFO)
    r = client.get("/v1/queue", headers=A)
    assert r.status_code == 500 and r.json() == INTERNAL
    message = next(rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR)
    assert "GET /v1/queue" in message and "QueueEntry" in message and "triage.urgency: literal_error" in message
    assert marker not in _logged(caplog)


def test_the_answer_is_what_the_model_says(make_client, sqlite_url, monkeypatch):
    """As with FastAPI's own response_model: a key the model does not declare is not sent, and
    fields go out under their alias (a lapsed claim's notice has `from`)."""
    client = make_client(sqlite_url)
    client.post("/v1/chats", json={"chat_id": "resp-2", "text": unique_text()}, headers=Q)
    chats = client.app.state.runtime.services.chats
    real_view = chats.view

    def view(*a, **k):
        out = real_view(*a, **k)
        out["triage"] = {**out["triage"], "returned": {"at": "2026-01-01T00:00:00Z", "from": "adviseur 1",
                                                       "text_nl": "Terug in de wachtrij"}}
        return {**out, "internal_note": "not in the contract"}

    monkeypatch.setattr(chats, "view", view)
    body = client.get("/v1/chats/resp-2", headers=A).json()
    assert "internal_note" not in body
    assert body["triage"]["returned"]["from"] == "adviseur 1" and "from_" not in body["triage"]["returned"]
