"""A returning client is never dropped: chat platforms reuse a conversation id, so the same chat_id
after the chat was closed or left is a new conversation that waits in the queue, linked to the
earlier one so the advisor sees that history. Through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from service.helpers import auth, queue_items

Q, A, R = auth("queue"), auth("advisor"), auth("reviewer")
FIRST = "mijn vader slaat mij als hij gedronken heeft"
AGAIN = "ik ben het weer, hij is vanavond weer boos en ik ben bang"


def test_the_same_chat_id_after_closing_waits_as_a_new_linked_conversation(make_client, db_url):
    client = make_client(db_url)
    assert client.post("/v1/chats", json={"chat_id": "wa-77", "text": FIRST}, headers=Q).status_code == 201
    client.post("/v1/chats/wa-77/claim", json={"advisor": "Anouk"}, headers=A)
    client.patch("/v1/chats/wa-77/triage", json={"minor": True, "reason": "zegt 14 te zijn"}, headers=A)
    assert client.post("/v1/chats/wa-77/close", json={"outcome": "advice"}, headers=A).status_code == 200

    r = client.post("/v1/chats", json={"chat_id": "wa-77", "text": AGAIN}, headers=Q)
    assert r.status_code == 201, r.text
    chat = r.json()
    assert chat["chat_id"] == "wa-77~2" and chat["status"] == "waiting" and chat["position"] == 1
    assert (chat["platform_chat_id"], chat["conversation"], chat["previous_chat_id"]) == ("wa-77", 2, "wa-77")
    assert [m["text"] for m in chat["messages"]] == [AGAIN]
    [earlier] = chat["previous"]
    assert earlier["chat_id"] == "wa-77" and earlier["status"] == "closed" and earlier["outcome"] == "advice"
    assert earlier["closed_at"] and earlier["received_at"] and earlier["message_count"] == 1
    assert earlier["triage"]["minor"] is True and earlier["triage"]["overridden"] == ["minor"]
    assert earlier["claimed_by"] == "env:advisor#2"
    # The queue shows the returning client with the link; the earlier chat points forward.
    [item] = queue_items(client)
    assert item["chat_id"] == "wa-77~2" and item["previous_chat_id"] == "wa-77"
    old = client.get("/v1/chats/wa-77", headers=A).json()
    assert old["status"] == "closed" and old["next_chat_id"] == "wa-77~2" and old["previous"] == []
    created = client.get("/v1/chats/wa-77~2", headers=A).json()["history"][0]
    assert created["kind"] == "created" and created["data"]["previous_chat_id"] == "wa-77"

    # A retry of the same POST while the new conversation is open is a replay, not a third one.
    r = client.post("/v1/chats", json={"chat_id": "wa-77", "text": AGAIN}, headers=Q)
    assert r.status_code == 200 and r.json()["chat_id"] == "wa-77~2"
    r = client.post("/v1/chats", json={"chat_id": "wa-77", "text": "iets anders"}, headers=Q)
    assert r.status_code == 409 and r.json()["code"] == "chat_exists"
    # The platform goes on addressing its own id: messages and leaving reach the open conversation.
    r = client.post("/v1/chats/wa-77/messages", json={"text": "hallo?"}, headers=Q)
    assert r.status_code == 200 and r.json()["chat_id"] == "wa-77~2" and r.json()["message_count"] == 2
    # Advisors act on exactly the conversation they name: the closed one stays closed.
    r = client.post("/v1/chats/wa-77/claim", json={}, headers=A)
    assert r.status_code == 409 and r.json()["code"] == "chat_not_waiting"
    assert client.post("/v1/chats/wa-77~2/claim", json={}, headers=A).status_code == 200
    r = client.delete("/v1/chats/wa-77", headers=Q)
    assert r.status_code == 200 and r.json()["chat_id"] == "wa-77~2" and r.json()["status"] == "left"
    # Every triage is audited under the platform's id (the reviewers' chat number search).
    records = client.get("/v1/audit/predictions", params={"chat_id": "wa-77"}, headers=R).json()["items"]
    assert len(records) == 3


def test_a_message_after_the_client_left_opens_a_new_conversation(make_client, db_url):
    client = make_client(db_url)
    client.post("/v1/chats", json={"chat_id": "web:5", "text": FIRST}, headers=Q)
    assert client.delete("/v1/chats/web:5", headers=Q).status_code == 200
    r = client.post("/v1/chats/web:5/messages", json={"text": AGAIN}, headers=Q)
    assert r.status_code == 201, r.text
    chat = r.json()
    assert chat["chat_id"] == "web:5~2" and chat["status"] == "waiting" and chat["message_count"] == 1
    assert chat["previous"][0]["status"] == "left" and chat["previous"][0]["outcome"] is None
    # A third visit links to the second; the chat shows both earlier conversations, newest first.
    client.post("/v1/chats/web:5~2/close", json={"outcome": "no_help_needed"}, headers=A)
    r = client.post("/v1/chats", json={"chat_id": "web:5", "text": "hoi"}, headers=Q)
    assert r.status_code == 201 and r.json()["chat_id"] == "web:5~3"
    assert [p["chat_id"] for p in r.json()["previous"]] == ["web:5~2", "web:5"]
    assert [i["chat_id"] for i in queue_items(client)] == ["web:5~3"]


def test_racing_returns_make_one_conversation(make_client, db_url):
    client = make_client(db_url)
    client.post("/v1/chats", json={"chat_id": "c", "text": FIRST}, headers=Q)
    client.post("/v1/chats/c/close", json={"outcome": "advice"}, headers=A)
    codes, barrier = [], threading.Barrier(4)

    def send(kind):
        barrier.wait()
        if kind == "create":
            r = client.post("/v1/chats", json={"chat_id": "c", "text": AGAIN}, headers=Q)
        else:
            r = client.post("/v1/chats/c/messages", json={"text": AGAIN}, headers=Q)
        codes.append((r.status_code, r.json().get("chat_id")))

    threads = [threading.Thread(target=send, args=(k,)) for k in ("create", "create", "message", "message")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {chat for _, chat in codes} == {"c~2"}, codes
    assert sorted(code for code, _ in codes).count(201) == 1, codes
    assert [i["chat_id"] for i in queue_items(client)] == ["c~2"]


def test_long_platform_ids_keep_unique_conversation_ids(make_client, sqlite_url):
    client = make_client(sqlite_url)
    long_a, long_b = "a" * 63 + "1", "a" * 63 + "2"
    for platform_id in (long_a, long_b):
        client.post("/v1/chats", json={"chat_id": platform_id, "text": FIRST}, headers=Q)
        client.delete(f"/v1/chats/{platform_id}", headers=Q)
    again = [client.post("/v1/chats", json={"chat_id": p, "text": AGAIN}, headers=Q).json()["chat_id"]
             for p in (long_a, long_b)]
    assert len(set(again)) == 2 and all(len(c) <= 64 and c.endswith("~2") for c in again)
    r = client.get(f"/v1/chats/{again[0]}", headers=A)
    assert r.status_code == 200 and r.json()["platform_chat_id"] == long_a
    assert client.post("/v1/chats", json={"chat_id": "x~2", "text": "hoi"}, headers=Q).status_code == 422
