"""Hard edges of input (issue 13, items 8-10), on SQLite and on PostgreSQL: numbers beyond 64 bits,
times at the ends of the calendar or far from now, and text made of invisible characters get a
422 that names the field; never a 500 and never a silent acceptance."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from service.helpers import auth
from triage.labels import MAX_TEXT_CHARS

Q, A, R = auth("queue"), auth("advisor"), auth("reviewer")
BEYOND_DB_IDS = (2**31, 2**63, 2**64 + 5, 10**30)  # ids are 32-bit integers on PostgreSQL
CALENDAR_ENDS = ("0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59",
                 "9999-12-31T23:59:59-05:00", "1970-01-01T00:00:00Z")
INVISIBLE = ("\u200b\u200d\u2060", "\x00", "\ufeff\u00ad\u202e", " \u200b\n\t\u3164 ", "\u0301\u0301",
             "\x01\x02\x1f\x7f\x85")


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def _refused(r, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert body["field"] == field and body["code"] in ("validation_error", "invalid_cursor"), body


# --- item 8: numbers and times beyond what the databases hold -------------------------------------

def test_ids_beyond_the_database_integers_are_refused(client):
    for big in BEYOND_DB_IDS:
        _refused(client.get("/v1/audit/predictions", params={"cursor": _cursor(f"id:{big}")}, headers=R), "cursor")
        _refused(client.get(f"/v1/audit/predictions/{big}", headers=R), "record_id")
        _refused(client.post(f"/v1/audit/predictions/{big}/reviews",
                             json={"role_ok": True, "minor_ok": True, "urgency_ok": True}, headers=R), "record_id")
    for odd in ("id:0", "id:-1", "id:١٢", "id:" + "9" * 150):
        _refused(client.get("/v1/audit/predictions", params={"cursor": _cursor(odd)}, headers=R), "cursor")
    assert client.get("/v1/audit/predictions", params={"cursor": _cursor("id:5")}, headers=R).status_code == 200
    assert client.get(f"/v1/audit/predictions/{2**31 - 1}", headers=R).status_code == 404


def test_filter_times_at_the_ends_of_the_calendar_are_refused(client):
    for path in ("/v1/audit/predictions", "/v1/audit/stats", "/v1/audit/export"):
        for end in CALENDAR_ENDS:
            for name in ("from", "to"):
                _refused(client.get(path, params={name: end}, headers=R), name)
        r = client.get(path, params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00"}, headers=R)
        assert r.status_code == 200, r.text


def test_received_at_at_the_ends_of_the_calendar_is_refused(client):
    for i, end in enumerate(("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z",
                             "9999-12-31T23:59:59Z")):
        _refused(client.post("/v1/chats", json={"chat_id": f"end-{i}", "text": "hoi", "received_at": end},
                             headers=Q), "received_at")
    assert client.post("/v1/chats", json={"chat_id": "m", "text": "hoi"}, headers=Q).status_code == 201
    for end in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        _refused(client.post("/v1/chats/m/messages", json={"text": "nog iets", "received_at": end}, headers=Q),
                 "received_at")


# --- item 9: received_at within a window around now ----------------------------------------------

def test_received_at_must_lie_within_the_window(client):
    for i, when in enumerate(("1970-01-01T00:00:00Z", "2000-01-01T00:00:00Z", _ago(hours=24, minutes=1),
                              _ago(minutes=-6))):
        r = client.post("/v1/chats", json={"chat_id": f"w-{i}", "text": "hoi", "received_at": when}, headers=Q)
        _refused(r, "received_at")
        assert "24 h" in r.json()["message"] and "5 min" in r.json()["message"]
    for i, when in enumerate((_ago(hours=23), _ago(minutes=-4))):
        r = client.post("/v1/chats", json={"chat_id": f"ok-{i}", "text": "hoi", "received_at": when}, headers=Q)
        assert r.status_code == 201, r.text
    # the oldest accepted chat is first; nothing older than the window can jump the queue
    assert [i["chat_id"] for i in client.get("/v1/queue", headers=A).json()["items"]] == ["ok-0", "ok-1"]
    r = client.post("/v1/chats/ok-0/messages", json={"text": "hallo?", "received_at": "1970-01-01T00:00:00Z"},
                    headers=Q)
    _refused(r, "received_at")
    r = client.post("/v1/chats/ok-0/messages", json={"text": "hallo?", "received_at": _ago(minutes=1)}, headers=Q)
    assert r.status_code == 200 and r.json()["message_count"] == 2


def test_the_window_is_a_setting(make_client, sqlite_url):
    client = make_client(sqlite_url, received_at_max_age_seconds=3600, received_at_max_future_seconds=0)
    r = client.post("/v1/chats", json={"chat_id": "a", "text": "hoi", "received_at": _ago(hours=2)}, headers=Q)
    _refused(r, "received_at")
    assert "1 h in the past" in r.json()["message"]
    _refused(client.post("/v1/chats", json={"chat_id": "b", "text": "hoi", "received_at": _ago(seconds=-30)},
                         headers=Q), "received_at")
    r = client.post("/v1/chats", json={"chat_id": "c", "text": "hoi", "received_at": _ago(minutes=50)}, headers=Q)
    assert r.status_code == 201, r.text


# --- item 10: text is normalised, and invisible text is refused -------------------------------------

def test_invisible_text_is_refused_everywhere(client):
    assert client.post("/v1/chats", json={"chat_id": "v", "text": "hoi"}, headers=Q).status_code == 201
    for text in INVISIBLE:
        _refused(client.post("/v1/triage", json={"text": text}, headers=Q), "text")
        _refused(client.post("/v1/chats", json={"chat_id": "inv", "text": text}, headers=Q), "text")
        _refused(client.post("/v1/chats/v/messages", json={"text": text}, headers=Q), "text")
        _refused(client.patch("/v1/chats/v/triage", json={"urgency": "high", "reason": text}, headers=A), "reason")
    assert client.get("/v1/chats/inv", headers=Q).status_code == 404
    assert client.get("/v1/chats/v", headers=Q).json()["message_count"] == 1


def test_normalised_text_is_what_is_stored_and_triaged(client):
    clean = "mijn vader slaat mij en ik ben bang\nhelp café"
    dirty = "mijn va\u200bder sla\u00adat mij\x00 en ik ben ba\u2060ng\r\nhelp cafe\u0301\u202e"
    r = client.post("/v1/chats", json={"chat_id": "n", "text": dirty}, headers=Q)
    assert r.status_code == 201, r.text
    assert r.json()["messages"][0]["text"] == clean
    stored = client.get("/v1/chats/n", headers=A).json()
    assert stored["messages"][0]["text"] == clean
    a = client.post("/v1/triage", json={"text": dirty}, headers=Q).json()
    b = client.post("/v1/triage", json={"text": clean}, headers=Q).json()
    assert (a["urgency"], a["role"], a["scores"], a["red_flags"]) == (b["urgency"], b["role"], b["scores"],
                                                                        b["red_flags"])
    # the same opener again is a retry of the same chat, however it was encoded
    assert client.post("/v1/chats", json={"chat_id": "n", "text": clean}, headers=Q).status_code == 200


def test_the_length_limit_applies_to_the_text_as_sent(client):
    # as the schema says (maxLength): invisible characters count, although they are removed afterwards
    assert client.post("/v1/triage", json={"text": "x" * (MAX_TEXT_CHARS - 20) + "\u200b" * 20},
                       headers=Q).status_code == 200
    _refused(client.post("/v1/triage", json={"text": "x" * MAX_TEXT_CHARS + "\u200b"}, headers=Q), "text")


@pytest.mark.parametrize("note", ["\u200b\u200b", "\x00"])
def test_invisible_review_note_is_no_note(client, note):
    r = client.post("/v1/triage", json={"text": "mijn man slaat mij"}, headers=Q)
    from service.helpers import audit_record_id

    record_id = audit_record_id(client, r)
    r = client.post(f"/v1/audit/predictions/{record_id}/reviews",
                    json={"role_ok": True, "minor_ok": True, "urgency_ok": True, "note": note}, headers=R)
    assert r.status_code == 201, r.text
    assert [v["note"] for v in r.json()["reviews"]] == [None]
