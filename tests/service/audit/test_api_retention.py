"""Privacy that keeps its promise (api/retention.py), on SQLite and PostgreSQL: override reasons
are redacted before they are stored; when a chat ends its text goes and every copy in the chat is
redacted; chats nobody touches are closed as `disconnected`; after the retention period nothing of
the client's text is left in the chat. Every check reads the database tables directly."""

from __future__ import annotations

import json
import random
import string
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text, update

from service.helpers import advisor_key, auth

Q, A = auth("queue"), auth("advisor")
TABLES = ("chats", "chat_messages", "chat_events", "audit_records")


def _person() -> dict[str, str]:
    rnd = random.Random()
    surname = "Amrani" + "".join(rnd.choice(string.ascii_lowercase) for _ in range(4))
    phone = "06-" + "".join(rnd.choice(string.digits) for _ in range(8))
    return {"surname": surname, "phone": phone, "digits": phone.replace("-", "")}


def _opener(p: dict) -> str:
    return (f"mijn buurman Youssef el {p['surname']} staat nu voor de deur met een mes en zegt dat hij me "
            f"vermoordt, mijn dochter zit op OBS De Regenboog, bel me op {p['phone']}")


def _markers(p: dict) -> list[str]:
    return [p["surname"], p["surname"].lower(), "Youssef", "Regenboog", p["phone"], p["digits"]]


def _dump(db_url: str, chat_ids: list[str] | None = None) -> dict[str, str]:
    """Every row of the tables (of the given chats) as text, per table."""
    engine = create_engine(db_url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in TABLES:
                rows = [dict(r) for r in conn.execute(text(f"SELECT * FROM {table}")).mappings()]
                if chat_ids is not None:
                    rows = [r for r in rows if r.get("chat_id") in chat_ids]
                out[table] = json.dumps(rows, default=str, ensure_ascii=False)
    finally:
        engine.dispose()
    return out


def _rows(db_url: str, sql: str) -> list[dict]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings()]
    finally:
        engine.dispose()


def _leaks(dump: dict[str, str], markers: list[str]) -> list[tuple[str, str]]:
    return [(table, m) for table, body in dump.items() for m in markers if m in body]


def test_override_reason_is_redacted_before_it_is_stored(make_client, db_url):
    p = _person()
    client = make_client(db_url)
    r = client.post("/v1/chats", json={"chat_id": "c", "text": "ik heb een vraag over een melding"}, headers=Q)
    assert r.status_code == 201, r.text
    anouk = advisor_key(client, "Anouk")
    reason = (f"moeder, mw el {p['surname']}, belde: Youssef el {p['surname']} staat nu met een mes bij "
              f"OBS De Regenboog, bel {p['phone']}")
    r = client.patch("/v1/chats/c/triage", json={"urgency": "acute", "reason": reason}, headers=anouk)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["override"]["reason"] == ("moeder, mw [NAAM], belde: [NAAM] staat nu met een mes bij [SCHOOL], "
                                           "bel [TELEFOON]")
    assert "[NAAM]" in shown["triage"]["summary_nl"] and "mes" in shown["triage"]["summary_nl"]
    assert not _leaks(_dump(db_url), _markers(p))
    assert "staat nu met een mes" in _dump(db_url)["chat_events"], "what the advisor meant is kept"


def test_ended_abandoned_and_purged_chats_keep_no_client_text(make_client, db_url):
    from api.db.models import Chat
    from api.retention import purge

    p = _person()
    client = make_client(db_url, raw_retention_days=30, abandoned_hours=24)
    runtime = client.app.state.runtime
    settings, db = runtime.settings, runtime.db
    for chat_id in ("closed", "left", "abandoned", "open"):
        r = client.post("/v1/chats", json={"chat_id": chat_id, "text": _opener(p)}, headers=Q)
        assert r.status_code == 201, r.text
    quotes = {f["text"] for f in r.json()["prediction"]["red_flags"]}
    assert quotes and all(q in _opener(p) for q in quotes)
    anouk = advisor_key(client, "Anouk")
    assert client.post("/v1/chats/closed/claim", json={"advisor": "Anouk"}, headers=anouk).status_code == 200
    r = client.patch("/v1/chats/closed/triage", json={"role": "bystander", "reason": f"zus van mw el {p['surname']}"},
                     headers=anouk)
    assert r.status_code == 200, r.text
    assert client.post("/v1/chats/closed/close", json={"outcome": "report"}, headers=anouk).status_code == 200
    assert client.delete("/v1/chats/left", headers=Q).status_code == 200

    # Ended: the text is gone and its copies in the chat are redacted, with the whole text as context.
    ended = _dump(db_url, ["closed", "left"])
    assert not _leaks(ended, _markers(p)), _leaks(ended, _markers(p))
    assert "[NAAM]" in ended["chats"] and all(q in ended["chats"] for q in quotes), "redacted, not emptied yet"
    assert all(r["raw_text"] is None for r in _rows(db_url, "SELECT chat_id, raw_text FROM chat_messages")
               if r["chat_id"] in ("closed", "left"))
    view = client.get("/v1/chats/closed", headers=A).json()
    assert p["surname"] not in json.dumps(view) and view["triage"]["role"] == "bystander"

    # Abandoned: untouched for longer than TRIAGE_ABANDONED_HOURS -> closed as disconnected.
    now = datetime.now(timezone.utc)
    with db.write() as session:
        session.execute(update(Chat).where(Chat.chat_id == "abandoned").values(updated_at=now - timedelta(hours=25))
                        .execution_options(synchronize_session=False))
    assert purge(settings, now, db=db, dry_run=True)["disconnected"] == 1
    result = purge(settings, now, db=db)
    assert result["disconnected"] == 1 and result["stripped"] == {"chats": 0, "chat_events": 0}
    gone = client.get("/v1/chats/abandoned", headers=A).json()
    assert gone["status"] == "closed" and gone["outcome"] == "disconnected"
    assert all(m["text"] is None for m in gone["messages"])
    kinds = [r["kind"] for r in _rows(db_url, "SELECT kind FROM chat_events WHERE chat_id = 'abandoned' ORDER BY id")]
    assert kinds[-1] == "disconnected"
    assert not _leaks(_dump(db_url, ["abandoned"]), _markers(p))
    opened = client.get("/v1/chats/open", headers=A).json()
    assert opened["status"] == "waiting" and opened["messages"][0]["text"] == _opener(p), "in use: kept"

    # After the retention period: nothing of the client's text is left in the ended chats.
    later = now + timedelta(days=31)
    result = purge(settings, later, db=db)
    assert result["stripped"]["chats"] == 3 and result["stripped"]["chat_events"] == 1
    assert result["disconnected"] == 1  # "open" is untouched by then too; it ended just now: redacted only
    purged = _dump(db_url, ["closed", "left", "abandoned"])
    assert not _leaks(purged, _markers(p)), _leaks(purged, _markers(p))
    # The chats keep no quote of the text at all; the audit records keep the redacted text for review.
    chat_tables = {k: v for k, v in purged.items() if k != "audit_records"}
    long_quotes = sorted(q for q in quotes if len(q) > 5)  # "mes" is also in "messages"
    assert long_quotes and not _leaks(chat_tables, long_quotes), _leaks(chat_tables, long_quotes)
    assert all(r["raw_text"] is None for r in _rows(db_url, "SELECT raw_text FROM audit_records"))
    assert all(r["purged_at"] is not None for r in _rows(db_url, "SELECT chat_id, purged_at FROM chats")
               if r["chat_id"] != "open")
    for chat_id, outcome in (("closed", "report"), ("left", None), ("abandoned", "disconnected")):
        r = client.get(f"/v1/chats/{chat_id}", headers=A)
        assert r.status_code == 200, r.text
        chat = r.json()
        assert chat["outcome"] == outcome and chat["triage"]["urgency"] == "acute", "the labels stay"
        assert all(f["text"] == "" for f in chat["prediction"]["red_flags"])
    assert client.get("/v1/chats/closed", headers=A).json()["override"]["reason"] == "verwijderd na de bewaartermijn"
    again = purge(settings, later, db=db)
    assert again["stripped"] == {"chats": 0, "chat_events": 0} and again["disconnected"] == 0
