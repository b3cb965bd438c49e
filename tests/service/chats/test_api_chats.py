"""The chat lifecycle and the queue, through HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text

from service.helpers import advisor_key, auth, queue_items
from triage.labels import URGENCY_RANK

Q, A = auth("queue"), auth("advisor")
HOI = "hoi"
DANGER = "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden"
CHILD = "ik ben 13 en mijn vader slaat mij elke dag met zijn riem"
LOW = "ik heb een vraag over hoe een melding bij jullie werkt, er is niks ernstigs aan de hand"


def iso_ago(minutes: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()


def create(client, chat_id, text, minutes_ago=None, expect=201):
    body = {"chat_id": chat_id, "text": text}
    if minutes_ago is not None:
        body["received_at"] = iso_ago(minutes_ago)
    r = client.post("/v1/chats", json=body, headers=Q)
    assert r.status_code == expect, r.text
    return r.json()


def queue_ids(client):
    r = client.get("/v1/queue", headers=A)
    assert r.status_code == 200, r.text
    return [item["chat_id"] for item in r.json()["items"]]


def test_create_returns_triage_guidance_and_position(client):
    chat = create(client, "c-1", CHILD)
    assert chat["status"] == "waiting" and chat["position"] == 1
    assert chat["triage"]["minor"] is True
    assert chat["triage"]["urgency"] in URGENCY_RANK
    assert chat["prediction"]["model_version"] == chat["triage"]["model_version"]
    # A minor gets the pinned card on child-centred language and safety (guidance/minderjarigen.md).
    assert "minderjarigen" in [card["id"] for card in chat["guidance"]]
    assert all(card["reason"] and card["body"] for card in chat["guidance"])
    assert chat["received_at"].endswith("Z") and chat["reason_nl"]
    assert chat["waiting_seconds"] >= 0 and chat["message_count"] == 1


def test_create_is_idempotent_on_chat_id(client):
    first = create(client, "c-1", CHILD)
    again = create(client, "c-1", CHILD, expect=200)
    assert again["chat_id"] == "c-1" and again["message_count"] == 1
    assert again["prediction"] == first["prediction"]
    assert queue_ids(client) == ["c-1"]
    r = client.post("/v1/chats", json={"chat_id": "c-1", "text": "een ander verhaal"}, headers=Q)
    assert r.status_code == 409 and r.json()["field"] == "chat_id" and r.json()["code"] == "chat_exists"


def test_queue_orders_by_policy_and_explains(client):
    create(client, "low", LOW, minutes_ago=10)
    create(client, "child", CHILD, minutes_ago=5)
    create(client, "acute", DANGER, minutes_ago=1)
    r = client.get("/v1/queue", headers=A)
    body = r.json()
    assert r.status_code == 200 and body["count"] == 3
    items = body["items"]
    assert items[0]["chat_id"] == "acute" and items[0]["triage"]["urgency"] == "acute"
    assert [i["position"] for i in items] == [1, 2, 3]
    for item in items:
        assert set(item) >= {"chat_id", "position", "priority", "waiting_seconds", "reason_nl", "triage",
                             "guidance", "received_at", "preview"}
        assert item["reason_nl"] and item["guidance"]
        assert "body" not in item["guidance"][0]  # the queue carries card references; the chat has the text
    acute = items[0]["triage"]
    assert {f["cue"] for f in acute["red_flags"]} & {"weapon", "threat_to_kill", "happening_now"}
    assert sum(body["by_urgency"].values()) == 3
    assert items[1]["waiting_seconds"] > 200


def test_messages_retriage_and_reorder(client):
    create(client, "hoi", HOI, minutes_ago=3)
    create(client, "child", CHILD, minutes_ago=1)
    assert queue_ids(client)[0] == "child"
    r = client.post("/v1/chats/hoi/messages", json={"text": DANGER}, headers=Q)
    assert r.status_code == 200, r.text
    chat = r.json()
    assert chat["message_count"] == 2 and chat["triage"]["urgency"] == "acute" and chat["position"] == 1
    assert queue_ids(client)[0] == "hoi"
    detail = client.get("/v1/chats/hoi", headers=A).json()
    triages = [e for e in detail["history"] if e["kind"] == "triage"]
    assert len(triages) == 2 and triages[1]["data"]["previous"]["urgency"] != "acute"
    assert [e["kind"] for e in detail["history"]] == ["created", "triage", "message", "triage"]


def test_claim_release_close(client):
    anouk, bram = advisor_key(client, "Anouk de Vries"), advisor_key(client, "Bram Smit")
    create(client, "c-1", CHILD)
    r = client.post("/v1/chats/c-1/claim", json={"advisor": "Anouk"}, headers=anouk)
    assert r.status_code == 200 and r.json()["status"] == "claimed" and r.json()["claimed_by"] == "Anouk de Vries"
    assert queue_ids(client) == []
    r = client.post("/v1/chats/c-1/claim", json={"advisor": "Bram"}, headers=bram)
    assert r.status_code == 409 and "Anouk" in r.json()["detail"]
    # The chatter writes on while the advisor has the chat: kept and shown, the chat stays claimed.
    r = client.post("/v1/chats/c-1/messages", json={"text": "hallo?"}, headers=Q)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claimed" and r.json()["claimed_by"] == "Anouk de Vries"
    assert [m["text"] for m in r.json()["messages"]] == [CHILD, "hallo?"]
    assert queue_ids(client) == []
    r = client.post("/v1/chats/c-1/release", json={"advisor": "Anouk"}, headers=bram)
    assert r.status_code == 403 and r.json()["code"] == "not_claimer"
    r = client.post("/v1/chats/c-1/release", headers=anouk)
    assert r.status_code == 200 and r.json()["status"] == "waiting" and r.json()["position"] == 1
    assert queue_ids(client) == ["c-1"]
    r = client.post("/v1/chats/c-1/claim", json={"advisor": "Bram"}, headers=bram)
    assert r.status_code == 200
    r = client.post("/v1/chats/c-1/close", json={"outcome": "advice", "advisor": "Bram"}, headers=anouk)
    assert r.status_code == 403 and r.json()["code"] == "not_claimer"
    r = client.post("/v1/chats/c-1/close", json={"outcome": "advice"}, headers=bram)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["outcome"] == "advice"
    for path, body in (("claim", {"advisor": "Cas"}), ("release", None), ("close", {"outcome": "other"})):
        r = client.post(f"/v1/chats/c-1/{path}", json=body, headers=bram)
        assert r.status_code == 409, (path, r.text)
    r = client.delete("/v1/chats/c-1", headers=Q)
    assert r.status_code == 409
    chat = client.get("/v1/chats/c-1", headers=A).json()
    assert [e["kind"] for e in chat["history"]] == ["created", "triage", "claimed", "message", "triage", "released",
                                                    "claimed", "closed"]
    assert [e["actor"] for e in chat["history"] if e["actor"] not in (None, "model")] == [
        "Anouk de Vries", "Anouk de Vries", "Bram Smit", "Bram Smit"]
    # Closed: the messages are listed with their times, their text is gone.
    assert [(m["seq"], m["text"]) for m in chat["messages"]] == [(1, None), (2, None)]


def test_queue_of_another_instance_follows_every_change(make_client, db_url):
    """GET /v1/queue keeps each waiting chat's unchanging parts per server process (keyed by the
    chat's version). Two app instances on one database: every change made through one must show in
    the other's queue, and each queue item must agree with the chat itself."""
    writer, reader = make_client(db_url), make_client(db_url)

    def queue():
        r = reader.get("/v1/queue", headers=A)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        for item in items:
            chat = reader.get(f"/v1/chats/{item['chat_id']}", headers=A).json()
            assert item["triage"] == chat["triage"], item["chat_id"]
            assert [g["id"] for g in item["guidance"]] == [g["id"] for g in chat["guidance"]]
            assert (item["message_count"], item["received_at"]) == (chat["message_count"], chat["received_at"])
        return {item["chat_id"]: item for item in items}

    create(writer, "hoi", HOI, minutes_ago=3)
    create(writer, "low", LOW, minutes_ago=2)
    assert set(queue()) == {"hoi", "low"}  # the reader now holds both
    assert queue()["hoi"]["triage"]["urgency"] != "acute"
    writer.post("/v1/chats/hoi/messages", json={"text": DANGER}, headers=Q)
    after = queue()
    assert after["hoi"]["triage"]["urgency"] == "acute" and after["hoi"]["message_count"] == 2
    assert list(after) == ["hoi", "low"]
    writer.patch("/v1/chats/low/triage", json={"minor": True, "reason": "kind", "advisor": "Anouk"}, headers=A)
    assert queue()["low"]["triage"]["overridden"] == ["minor"]
    writer.post("/v1/chats/low/claim", json={"advisor": "Anouk"}, headers=A)
    assert list(queue()) == ["hoi"]
    writer.post("/v1/chats/low/release", json={"advisor": "Anouk"}, headers=A)
    assert list(queue()) == ["hoi", "low"]
    writer.delete("/v1/chats/hoi", headers=Q)
    create(writer, "new", CHILD)
    assert set(queue()) == {"low", "new"}
    writer.post("/v1/chats/low/close", json={"outcome": "advice"}, headers=A)
    assert list(queue()) == ["new"]



def test_a_chats_place_equals_its_queue_entry_after_every_change(make_client, db_url):
    """Every chat write answers with the chat's place from an order kept incrementally per server
    process (api/queue/view.py, triage.queue.QueueIndex); GET /v1/queue ranks the whole queue. Two
    app instances on one database, changes through one: the other's answer for each waiting chat
    must equal its entry in the full ranking, and its queue must hold exactly the waiting chats."""
    writer, reader = make_client(db_url), make_client(db_url)

    def check():
        waiting = {c["chat_id"] for c in reader.get("/v1/chats?status=waiting", headers=A).json()["items"]}
        items = reader.get("/v1/queue", headers=A).json()["items"]
        assert {i["chat_id"] for i in items} == waiting
        for item in items:
            for client in (reader, writer):
                chat = client.get(f"/v1/chats/{item['chat_id']}", headers=A).json()
                assert (chat["position"], chat["reason_nl"], chat["reason_detail_nl"]) == (
                    item["position"], item["reason_nl"], item["reason_detail_nl"]), item["chat_id"]
                assert abs(chat["priority"] - item["priority"]) < 0.01  # aging between the two reads

    # Whole minutes ago (the reasons name the minutes waited), high 30 min after normal ties on paper.
    for chat_id, text, minutes in (("low-a", LOW, 50), ("low-b", LOW, 20), ("child", CHILD, 12), ("hoi-a", HOI, 40),
                                   ("hoi-b", HOI, 10), ("danger", DANGER, 2)):
        assert create(writer, chat_id, text, minutes_ago=minutes)["position"] >= 1
        check()
    for urgency, chat_id in (("high", "hoi-b"), ("normal", "low-b"), ("acute", "low-a")):
        r = writer.patch(f"/v1/chats/{chat_id}/triage", json={"urgency": urgency, "reason": "test"}, headers=A)
        assert r.status_code == 200, r.text
        check()
    steps = (("post", "/v1/chats/child/claim", {"advisor": "Anouk"}), ("post", "/v1/chats/hoi-a/messages",
             {"text": DANGER}), ("post", "/v1/chats/child/release", None), ("delete", "/v1/chats/hoi-b", None),
             ("post", "/v1/chats/danger/close", {"outcome": "advice"}))
    for method, path, body in steps:
        headers = Q if path.endswith("messages") or method == "delete" else A
        r = writer.request(method.upper(), path, json=body, headers=headers)
        assert r.status_code == 200, r.text
        check()
    assert len(queue_items(reader)) == 4

def test_release_keeps_waiting_time(client):
    received = create(client, "old", LOW, minutes_ago=30)["received_at"]
    create(client, "new", LOW, minutes_ago=1)
    r = client.post("/v1/chats/old/claim", json={"advisor": "Anouk"}, headers=A)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claimed" and r.json()["waiting_seconds"] is None
    assert queue_ids(client) == ["new"]
    r = client.post("/v1/chats/old/release", json={"advisor": "Anouk"}, headers=A)
    assert r.status_code == 200, r.text
    released = r.json()
    # Back in the queue as it was: first, still counted from when the client wrote, no claim left over.
    assert released["status"] == "waiting" and released["position"] == 1
    assert released["received_at"] == received
    assert 30 * 60 - 5 <= released["waiting_seconds"] <= 31 * 60
    assert (released["claimed_by"], released["claimed_name"], released["claimed_at"]) == (None, None, None)
    assert queue_ids(client) == ["old", "new"]


def test_client_leaves(client):
    create(client, "c-1", HOI)
    r = client.delete("/v1/chats/c-1", headers=Q)
    assert r.status_code == 200 and r.json()["status"] == "left"
    assert queue_ids(client) == []
    assert client.delete("/v1/chats/c-1", headers=Q).status_code == 200  # idempotent
    assert client.post("/v1/chats/c-1/claim", json={"advisor": "Anouk"}, headers=A).status_code == 409


def test_unknown_chat_is_404_everywhere(client):
    calls = [("get", "/v1/chats/nope", None, A), ("post", "/v1/chats/nope/messages", {"text": "hoi"}, Q),
             ("post", "/v1/chats/nope/claim", {"advisor": "x"}, A), ("post", "/v1/chats/nope/release", None, A),
             ("post", "/v1/chats/nope/close", {"outcome": "advice"}, A), ("delete", "/v1/chats/nope", None, Q),
             ("patch", "/v1/chats/nope/triage", {"urgency": "high", "reason": "r"}, A)]
    for method, path, body, headers in calls:
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "chat_not_found" and r.json()["field"] == "chat_id"


def test_override_keeps_history_and_reorders(client):
    anouk = advisor_key(client, "Anouk de Vries")
    create(client, "a", LOW, minutes_ago=2)
    create(client, "b", LOW, minutes_ago=1)
    model_urgency = client.get("/v1/chats/b", headers=A).json()["prediction"]["urgency"]
    r = client.patch("/v1/chats/b/triage", json={"urgency": "acute", "minor": True, "reason": "kind in gevaar",
                                                 "advisor": "Anouk"}, headers=anouk)
    assert r.status_code == 200, r.text
    chat = r.json()
    assert chat["triage"]["urgency"] == "acute" and chat["triage"]["minor"] is True
    assert sorted(chat["triage"]["overridden"]) == ["minor", "urgency"]
    assert chat["prediction"]["urgency"] == model_urgency  # the model's triage is kept
    # Who changed it is the key's label; the name typed in the body stands beside it, as self-declared.
    assert chat["override"]["reason"] == "kind in gevaar" and chat["override"]["advisor"] == "Anouk de Vries"
    assert chat["override"]["name"] == "Anouk"
    assert "Aangepast door Anouk de Vries (opgegeven naam: Anouk)" in chat["triage"]["summary_nl"]
    event = chat["history"][-1]
    assert event["kind"] == "override" and event["actor"] == "Anouk de Vries" and event["data"]["name"] == "Anouk"
    assert event["data"]["before"]["urgency"] == model_urgency and event["data"]["after"]["urgency"] == "acute"
    assert event["data"]["model"]["urgency"] == model_urgency
    assert queue_ids(client) == ["b", "a"]
    # a second override adds to the first; both stay in the history
    r = client.patch("/v1/chats/b/triage", json={"role": "bystander", "reason": "belt voor buurkind"}, headers=A)
    assert r.status_code == 200
    assert r.json()["triage"]["urgency"] == "acute" and r.json()["triage"]["role"] == "bystander"
    assert [e["kind"] for e in r.json()["history"]].count("override") == 2


def test_override_survives_messages_unless_danger_rises(client):
    create(client, "c", HOI)
    client.patch("/v1/chats/c/triage", json={"role": "victim", "urgency": "low", "reason": "alleen een vraag"},
                 headers=A)
    r = client.post("/v1/chats/c/messages", json={"text": "ik wil iets vragen"}, headers=Q)
    assert r.json()["triage"]["role"] == "victim"
    r = client.post("/v1/chats/c/messages", json={"text": DANGER}, headers=Q)
    chat = r.json()
    assert chat["triage"]["urgency"] == "acute", "new danger outranks an earlier lower urgency override"
    # The whole override lapsed (it was made on text that no longer tells the whole story).
    assert chat["triage"]["overridden"] == [] and chat["override"] is None
    assert chat["triage"]["alert"]["kind"] == "override_lapsed"
    kinds = [e["kind"] for e in client.get("/v1/chats/c", headers=A).json()["history"]]
    assert "override_lapsed" in kinds


def test_override_validation(client):
    create(client, "c", HOI)
    r = client.patch("/v1/chats/c/triage", json={"reason": "niets"}, headers=A)
    assert r.status_code == 422 and "urgency" in r.json()["message"]
    r = client.patch("/v1/chats/c/triage", json={"urgency": "extreme", "reason": "x"}, headers=A)
    assert r.status_code == 422 and r.json()["field"] == "urgency"
    r = client.patch("/v1/chats/c/triage", json={"minor": "yes", "reason": "x"}, headers=A)
    assert r.status_code == 422 and r.json()["field"] == "minor"
    r = client.patch("/v1/chats/c/triage", json={"urgency": "high"}, headers=A)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    client.post("/v1/chats/c/close", json={"outcome": "other"}, headers=A)
    r = client.patch("/v1/chats/c/triage", json={"urgency": "high", "reason": "x"}, headers=A)
    assert r.status_code == 409


def test_received_at_must_be_aware_and_not_future(client):
    r = client.post("/v1/chats", json={"chat_id": "c", "text": HOI, "received_at": "2025-01-01T10:00:00"}, headers=Q)
    assert r.status_code == 422 and r.json()["field"] == "received_at"
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    r = client.post("/v1/chats", json={"chat_id": "c", "text": HOI, "received_at": future}, headers=Q)
    assert r.status_code == 422 and r.json()["field"] == "received_at"
    local = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0).astimezone(
        timezone(timedelta(hours=2)))
    r = client.post("/v1/chats", json={"chat_id": "c", "text": HOI, "received_at": local.isoformat()}, headers=Q)
    utc = local.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    assert r.status_code == 201 and r.json()["received_at"] == utc


def test_long_combined_text_uses_the_latest_part(client):
    create(client, "c", "a " * 2400)
    r = client.post("/v1/chats/c/messages", json={"text": "b " * 1000 + DANGER}, headers=Q)
    assert r.status_code == 200 and r.json()["text_truncated"] is True
    assert r.json()["triage"]["urgency"] == "acute"


def test_message_limit(make_client, db_url):
    client = make_client(db_url, max_messages_per_chat=2)
    create(client, "c", HOI)
    assert client.post("/v1/chats/c/messages", json={"text": "hallo"}, headers=Q).status_code == 200
    r = client.post("/v1/chats/c/messages", json={"text": "hallo?"}, headers=Q)
    assert r.status_code == 409 and r.json()["code"] == "too_many_messages"


def test_client_text_is_stored_only_while_needed(client, db_url):
    create(client, "c", CHILD)
    client.post("/v1/chats/c/messages", json={"text": DANGER}, headers=Q)
    create(client, "d", HOI)
    client.post("/v1/chats/c/claim", json={"advisor": "Anouk"}, headers=A)
    client.post("/v1/chats/c/close", json={"outcome": "report"}, headers=A)
    client.delete("/v1/chats/d", headers=Q)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM chat_messages WHERE raw_text IS NOT NULL")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM chats WHERE raw_preview IS NOT NULL")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM chat_messages")).scalar() == 3
            events = " ".join(str(r[0]) for r in conn.execute(text("SELECT data FROM chat_events")))
            assert "riem" not in events and "vermoorden" not in events
    finally:
        engine.dispose()


def test_preview_for_advisors(client):
    create(client, "c", CHILD + " " + "en nog veel meer tekst " * 10)
    item = client.get("/v1/queue", headers=A).json()["items"][0]
    assert item["preview"].startswith("ik ben 13") and len(item["preview"]) <= 80


def test_responses_match_the_documented_schemas(client):
    """Responses are built without a second validation pass; they must still match the OpenAPI models."""
    from api.chats.schemas import ChatDetail, ChatOut
    from api.queue.schemas import QueueOut
    from api.schemas import TriageResponse

    ChatOut.model_validate(create(client, "s1", DANGER))
    ChatOut.model_validate(create(client, "s2", HOI, minutes_ago=2))
    ChatOut.model_validate(client.post("/v1/chats/s2/messages", json={"text": CHILD}, headers=Q).json())
    ChatDetail.model_validate(client.patch("/v1/chats/s2/triage", json={"role": "victim", "reason": "r"},
                                           headers=A).json())
    queue = QueueOut.model_validate(client.get("/v1/queue", headers=A).json())
    assert [i.chat_id for i in queue.items] == ["s1", "s2"] and queue.items[1].triage.overridden == ["role"]
    ChatOut.model_validate(client.post("/v1/chats/s1/claim", json={"advisor": "Anouk"}, headers=A).json())
    ChatDetail.model_validate(client.get("/v1/chats/s1", headers=A).json())
    TriageResponse.model_validate(client.post("/v1/triage", json={"text": CHILD}, headers=Q).json())
