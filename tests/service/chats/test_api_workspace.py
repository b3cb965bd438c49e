"""What the advisor's workspace relies on: no override hides new danger, the worst acute chat
first, no claim stuck for ever, the whole chat readable. Through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, update

from triage.override import lapse_override
from api.db.models import Chat, utcnow
from service.helpers import advisor_key, auth, queue_items

Q, A, ADM = auth("queue"), auth("advisor"), auth("admin")
HELP = "help"
THREAT_15 = "ik ben 15 en mijn vader zei dat hij me gaat doodmaken als ik iets vertel"
KNIFE_NOW = "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden"
STRANGLED = "mijn moeder is net gewurgd door mijn stiefvader en ze reageert niet meer, wat moet ik doen"


def post_chat(client, chat_id, text, minutes_ago=0):
    received = (utcnow() - timedelta(minutes=minutes_ago)).isoformat()
    r = client.post("/v1/chats", json={"chat_id": chat_id, "text": text, "received_at": received}, headers=Q)
    assert r.status_code == 201, r.text
    return r.json()


# --- 1. an override never hides new danger ---------------------------------------------------

def test_the_issue_scenario_override_lapses_on_new_danger(make_client, db_url):
    client = make_client(db_url)
    for i in range(6):  # a busy morning: the chat would sit far down if it stayed normal
        post_chat(client, f"n{i}", "ik heb een vraag over mijn buurman die soms schreeuwt", minutes_ago=20 + i)
    post_chat(client, "help", HELP)
    r = client.patch("/v1/chats/help/triage", json={"urgency": "normal", "reason": "alleen 'help', geen gevaar",
                                                   "advisor": "Anouk"}, headers=A)
    assert r.status_code == 200 and r.json()["triage"]["urgency"] == "normal"
    r = client.post("/v1/chats/help/messages", json={"text": THREAT_15}, headers=Q)
    assert r.status_code == 200, r.text
    chat = r.json()
    assert chat["prediction"]["urgency"] == "acute"
    assert "threat_to_kill" in {f["cue"] for f in chat["prediction"]["red_flags"]}
    assert chat["triage"]["urgency"] == "acute" and chat["triage"]["overridden"] == []
    assert chat["override"] is None
    alert = chat["triage"]["alert"]
    assert alert["kind"] == "override_lapsed" and "doodsbedreiging" in alert["text_nl"]
    assert "Anouk" in alert["text_nl"] and "vervallen" in alert["text_nl"]
    assert chat["position"] == 1
    items = queue_items(client)
    assert items[0]["chat_id"] == "help" and items[0]["triage"]["alert"] == alert
    history = client.get("/v1/chats/help", headers=A).json()["history"]
    lapsed = [e for e in history if e["kind"] == "override_lapsed"]
    assert len(lapsed) == 1
    assert set(lapsed[0]["data"]["fields"]) == {"urgency"}
    assert lapsed[0]["data"]["new_red_flags"] == ["threat_to_kill"]
    assert lapsed[0]["data"]["reason_nl"] == alert["text_nl"]
    # A new override is a person acting on the alert: it clears.
    r = client.patch("/v1/chats/help/triage", json={"urgency": "acute", "reason": "gezien", "advisor": "Anouk"},
                     headers=A)
    assert r.json()["triage"]["alert"] is None


def test_new_danger_reaches_a_claimed_chat(make_client, db_url):
    client = make_client(db_url)
    post_chat(client, "c", "ik wil iets vragen over mijn thuissituatie")
    assert client.post("/v1/chats/c/claim", json={"advisor": "Anouk"}, headers=A).status_code == 200
    client.patch("/v1/chats/c/triage", json={"urgency": "low", "reason": "vraag", "advisor": "Anouk"}, headers=A)
    r = client.post("/v1/chats/c/messages", json={"text": KNIFE_NOW}, headers=Q)
    assert r.status_code == 200, r.text
    chat = r.json()
    assert chat["status"] == "claimed" and chat["triage"]["urgency"] == "acute" and chat["triage"]["alert"]
    r = client.post("/v1/chats/c/heartbeat", json={"advisor": "Anouk"}, headers=A)
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == ["ik wil iets vragen over mijn thuissituatie", KNIFE_NOW]
    assert r.json()["triage"]["alert"]["text_nl"] == chat["triage"]["alert"]["text_nl"]


def _pred(urgency, minor=False, flags=()):
    return {"urgency": urgency, "minor": minor, "red_flags": [{"cue": c, "when": w} for c, w in flags]}


def test_lapse_rule_parts():
    now = utcnow()
    lower = {"fields": {"urgency": "normal", "role": "bystander"}, "advisor": "Bram", "reason": "x"}
    # Nothing new: the override stays.
    kept, lapse = lapse_override(lower, _pred("normal"), _pred("normal"), now)
    assert kept == lower and lapse is None
    # A new red flag at the same model urgency: the override lapses although the level did not rise.
    kept, lapse = lapse_override(lower, _pred("normal"), _pred("high", flags=[("suicide", "now")]), now)
    assert kept is None and lapse["fields"] == ["urgency", "role"] and lapse["new_red_flags"] == ["suicide"]
    kept, lapse = lapse_override(lower, _pred("normal", flags=[("weapon", "past")]),
                                 _pred("normal", flags=[("weapon", "past")]), now)
    assert lapse is None, "a flag the advisor already saw is not new"
    _, lapse = lapse_override(lower, _pred("normal", flags=[("weapon", "past")]),
                              _pred("normal", flags=[("weapon", "now")]), now)
    assert lapse and lapse["new_red_flags"] == ["weapon"], "the same danger, now happening, is new"
    # The model above the overridden level, without a flag.
    _, lapse = lapse_override({"fields": {"urgency": "low"}}, _pred("low"), _pred("high"), now)
    assert lapse["fields"] == ["urgency"] and "hoger dan de aanpassing (laag)" in lapse["alert"]["text_nl"]
    # A minor where the advisor said adult.
    kept, lapse = lapse_override({"fields": {"minor": False}}, _pred("normal"), _pred("normal", minor=True), now)
    assert kept is None and lapse["fields"] == ["minor"]
    # An override that made the chat MORE urgent hides nothing: it stays, the alert still rings.
    up = {"fields": {"urgency": "acute", "minor": True}, "advisor": "Bram"}
    kept, lapse = lapse_override(up, _pred("high"), _pred("high", flags=[("locked_in", "now")]), now)
    assert kept == up and lapse["fields"] == [] and "blijft" in lapse["alert"]["text_nl"]


# --- 2. among acute chats, the worst first -----------------------------------------------------

def test_acute_chats_are_ordered_by_severity_with_the_reason(make_client, db_url):
    client = make_client(db_url)
    post_chat(client, "help", HELP, minutes_ago=9)
    post_chat(client, "knife", KNIFE_NOW, minutes_ago=1)
    post_chat(client, "strangled", STRANGLED, minutes_ago=2)
    items = {i["chat_id"]: i for i in queue_items(client)}
    knife, strangled = items["knife"], items["strangled"]
    assert knife["triage"]["urgency"] == strangled["triage"]["urgency"] == "acute"
    assert knife["triage"]["severity"] > 0 and knife["triage"]["severity_nl"].startswith("Nu:")
    acute = [i for i in queue_items(client) if i["triage"]["urgency"] == "acute"]
    severities = [i["triage"]["severity"] for i in acute]
    assert severities == sorted(severities, reverse=True)
    if items["help"]["triage"]["urgency"] == "acute":  # depends on the model; if acute it must wait behind
        assert items["help"]["position"] > max(knife["position"], strangled["position"])
    assert acute[0]["reason_nl"].startswith("Acuut, de ernstigste van")
    assert acute[0]["triage"]["severity_nl"] in acute[0]["reason_detail_nl"]
    assert "prioriteit" not in " ".join(i["reason_nl"].lower() for i in queue_items(client))


# --- 3. nothing gets stuck ---------------------------------------------------------------------

def test_a_claim_without_sign_of_life_returns_to_the_queue(make_client, db_url):
    client = make_client(db_url, claim_timeout_seconds=60)
    service = client.app.state.runtime.service
    anouk, bram = advisor_key(client, "Anouk"), advisor_key(client, "Bram")
    received = post_chat(client, "c", KNIFE_NOW, minutes_ago=3)["received_at"]
    post_chat(client, "d", "ik heb een vraag", minutes_ago=1)
    assert client.post("/v1/chats/c/claim", json={}, headers=anouk).status_code == 200
    assert client.post("/v1/chats/d/claim", json={"advisor": "Bram"}, headers=bram).status_code == 200
    claimed = client.get("/v1/chats?status=claimed", headers=A).json()
    assert {(i["chat_id"], i["claimed_by"]) for i in claimed["items"]} == {("c", "Anouk"), ("d", "Bram")}
    assert all(i["last_seen_at"] for i in claimed["items"])
    # Within the timeout nothing happens; after it, both claims lapse.
    assert service.expire_claims(utcnow() + timedelta(seconds=30), force=True) == []
    assert sorted(service.expire_claims(utcnow() + timedelta(seconds=61), force=True)) == ["c", "d"]
    assert client.get("/v1/chats?status=claimed", headers=A).json()["count"] == 0
    chat = client.get("/v1/chats/c", headers=A).json()
    assert chat["status"] == "waiting" and chat["claimed_by"] is None
    assert chat["triage"]["returned"]["from"] == "Anouk"
    assert "Anouk" in chat["triage"]["returned"]["text_nl"]
    assert [e["kind"] for e in chat["history"]][-1] == "claim_expired"
    assert chat["received_at"] == received, "the chat keeps its waiting time"
    items = queue_items(client)
    assert items[0]["chat_id"] == "c" and items[0]["triage"]["returned"]["from"] == "Anouk"
    # Anouk's page comes back: the claim is gone and she is told so.
    r = client.post("/v1/chats/c/heartbeat", json={"advisor": "Anouk"}, headers=anouk)
    assert r.status_code == 409 and r.json()["code"] == "chat_not_claimed"
    # Claimed again: the notice has served.
    r = client.post("/v1/chats/c/claim", json={"advisor": "Cas"}, headers=A)
    assert r.status_code == 200 and r.json()["triage"]["returned"] is None


def test_heartbeat_keeps_a_claim_and_names_the_holder(make_client, db_url):
    client = make_client(db_url, claim_timeout_seconds=60)
    service = client.app.state.runtime.service
    anouk, bram = advisor_key(client, "Anouk"), advisor_key(client, "Bram")
    for chat_id in ("c", "d"):
        post_chat(client, chat_id, "ik heb een vraag")
        client.post(f"/v1/chats/{chat_id}/claim", json={"advisor": "Anouk"}, headers=anouk)
    # Another key cannot keep Anouk's claim alive, whatever name it gives.
    r = client.post("/v1/chats/c/heartbeat", json={"advisor": "Anouk"}, headers=bram)
    assert r.status_code == 403 and r.json()["code"] == "not_claimer" and "Anouk" in r.json()["detail"]
    # Both claims were last seen 50 s ago; only c's page sends a heartbeat now.
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(Chat).values(last_seen_at=utcnow() - timedelta(seconds=50)))
    engine.dispose()
    before = client.get("/v1/chats/c", headers=A).json()
    r = client.post("/v1/chats/c/heartbeat", headers=anouk)
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    assert r.json()["last_seen_at"] > before["last_seen_at"]
    # A heartbeat is not a change of the chat: the history stays as it was.
    assert r.json()["history"] == before["history"]
    assert service.expire_claims(utcnow() + timedelta(seconds=30), force=True) == ["d"]
    assert client.post("/v1/chats/nope/heartbeat", json={"advisor": "Anouk"}, headers=anouk).status_code == 404


def test_admin_releases_and_reassigns_any_claim(make_client, db_url):
    client = make_client(db_url)
    anouk, bram = advisor_key(client, "Anouk"), advisor_key(client, "Bram")
    advisor_key(client, "Cas"), advisor_key(client, "cas")
    bram_id = client.get("/v1/me", headers=bram).json()["key_id"]
    post_chat(client, "c", "ik heb een vraag")
    client.post("/v1/chats/c/claim", json={"advisor": "Anouk"}, headers=anouk)
    r = client.post("/v1/chats/c/reassign", json={"advisor": "Bram"}, headers=anouk)
    assert r.status_code == 403, "an advisor may not hand away someone else's chat"
    # The chat goes to a key (by label or key id), with the colleague's name for a shared key.
    for ref, code in (("Dirk", "unknown_advisor"), ("Cas", "ambiguous_advisor")):
        r = client.post("/v1/chats/c/reassign", json={"advisor": ref}, headers=ADM)
        assert r.status_code == 422 and r.json()["code"] == code and r.json()["field"] == "advisor"
    r = client.post("/v1/chats/c/reassign", json={"advisor": "bram"}, headers=ADM)
    assert r.status_code == 200 and r.json()["claimed_by"] == "Bram" and r.json()["claimed_key"] == bram_id
    event = r.json()["history"][-1]
    assert event["kind"] == "reassigned" and event["actor"] == "env:admin#4"
    assert {k: event["data"][k] for k in ("from", "to", "to_key")} == {"from": "Anouk", "to": "Bram", "to_key": bram_id}
    # Now it is Bram's: Anouk's key may no longer keep it, Bram's may.
    assert client.post("/v1/chats/c/heartbeat", headers=anouk).json()["code"] == "not_claimer"
    assert client.post("/v1/chats/c/heartbeat", headers=bram).status_code == 200
    r = client.post("/v1/chats/c/reassign", json={"advisor": bram_id, "name": "Bram S."}, headers=ADM)
    assert r.status_code == 200 and r.json()["claimed_name"] == "Bram S."
    r = client.post("/v1/chats/c/release", json={}, headers=ADM)
    assert r.status_code == 200 and r.json()["status"] == "waiting"
    r = client.post("/v1/chats/c/reassign", json={"advisor": "Bram"}, headers=ADM)
    assert r.status_code == 409 and r.json()["code"] == "chat_not_claimed"
    r = client.get("/v1/chats?status=closed", headers=A)
    assert r.status_code == 422


# --- 4. the whole chat, before and after claiming -----------------------------------------------

def test_every_message_with_its_time_before_claiming(make_client, db_url):
    client = make_client(db_url)
    post_chat(client, "c", "hoi", minutes_ago=2)
    client.post("/v1/chats/c/messages", json={"text": "ben je er?"}, headers=Q)
    r = client.post("/v1/chats/c/messages", json={"text": "mijn vader slaat me"}, headers=Q)
    chat = client.get("/v1/chats/c", headers=A).json()
    assert chat["status"] == "waiting"
    assert [(m["seq"], m["text"]) for m in chat["messages"]] == [(1, "hoi"), (2, "ben je er?"),
                                                                 (3, "mijn vader slaat me")]
    times = [m["received_at"] for m in chat["messages"]]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    assert r.json()["messages"][-1]["text"] == "mijn vader slaat me"
