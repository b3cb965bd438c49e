"""Audit records (redacted), the reviewers' endpoints, agreement, gold labels, export, statistics,
retention and purge; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import random
import string
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from service.helpers import API_KEYS_ENV, KEYS, audit_record_id, auth, caller_headers

Q, A, R, D = auth("queue"), auth("advisor"), auth("reviewer"), auth("admin")
REVIEWER2_KEY = "reviewer-two-key-" + "s" * 24
R2 = {"Authorization": f"Bearer {REVIEWER2_KEY}"}
TWO_REVIEWERS = API_KEYS_ENV + f",reviewer:{REVIEWER2_KEY}"

TEXTS = [
    "hoi",
    "ik heb een vraag over hoe een melding bij jullie werkt, er is niks ernstigs aan de hand",
    "mijn man staat nu voor de deur met een mes en zegt dat hij me gaat vermoorden",
    "ik ben 13 en mijn vader slaat mij elke dag met zijn riem",
    "ik maak me zorgen om mijn buurmeisje, ze huilt vaak",
    "ik ben docent en een leerling vertelde me dat ze thuis geslagen wordt",
    "ik heb mijn vrouw geslagen en ik schaam me",
    "hello I need help",
]


def _pii() -> dict[str, str]:
    """Distinctive personal data (letters only in the name: the redaction works on words)."""
    rnd = random.Random()
    surname = "Zwartkop" + "".join(rnd.choice(string.ascii_lowercase) for _ in range(5))
    phone = "06-" + "".join(rnd.choice(string.digits) for _ in range(8))
    email = f"fenna.{surname.lower()}@voorbeeld.nl"
    return {"surname": surname, "phone": phone, "email": email, "digits": phone.replace("-", "")}


def _pii_text(p: dict) -> str:
    return (f"Hoi, ik heet Fenna {p['surname']}. Mijn man heeft me gisteren gewurgd en nu staat hij voor de "
            f"deur met een mes. Bel me op {p['phone']} of mail {p['email']}.")


def _markers(p: dict) -> list[str]:
    return [p["surname"], p["phone"], p["digits"], p["email"], p["surname"].lower()]


def _redactable(p: dict, text_: str) -> str:
    """The text, after checking that the redactor finds its personal data (this tests the storage
    of redacted text, not the redactor's recall: a lone unknown surname, for one, is not found)."""
    from triage.redact import redact

    assert not any(m in redact(text_).text for m in _markers(p)), f"precondition: the redactor finds it: {text_!r}"
    return text_


def _rows(db_url: str, table: str) -> list[dict]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).mappings()]
    finally:
        engine.dispose()


def _execute(db_url: str, sql: str, **params) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _all_records(client, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/audit/predictions", params=query, headers=R)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


def _triage(client, text_: str) -> int:
    r = client.post("/v1/triage", json={"text": text_}, headers=Q)
    assert r.status_code == 200, r.text
    assert client.app.state.runtime.audit_writer.flush(10)  # written behind the answer: now
    return audit_record_id(client, r)


# --- redaction ----------------------------------------------------------------------------------

def test_audit_records_are_redacted(make_client, db_url):
    p = _pii()
    secret = _redactable(p, _pii_text(p))
    client = make_client(db_url)

    record_id = _triage(client, secret)
    opener = _redactable(p, f"ik ben Fenna {p['surname']} en ik ben 14")
    assert client.post("/v1/chats", json={"chat_id": "c-pii", "text": opener}, headers=Q).status_code == 201
    message = _redactable(p, f"mijn vader slaat me, bel {p['phone']}")
    assert client.post("/v1/chats/c-pii/messages", json={"text": message}, headers=Q).status_code == 200
    reason = _redactable(p, f"Fenna {p['surname']} belt vanaf {p['phone']}")
    r = client.patch("/v1/chats/c-pii/triage", json={"urgency": "acute", "reason": reason, "advisor": "Anouk"},
                     headers=A)
    assert r.status_code == 200
    note = _redactable(p, f"mail {p['email']}")
    r = client.post(f"/v1/audit/predictions/{record_id}/reviews",
                    json={"role_ok": True, "minor_ok": True, "urgency_ok": True, "note": note}, headers=R)
    assert r.status_code == 201, r.text

    records = _rows(db_url, "audit_records")
    reviews = _rows(db_url, "reviews")
    assert [(r["source"], r["chat_id"], r["message_count"]) for r in records] == [
        ("triage", None, None), ("chat", "c-pii", 1), ("message", "c-pii", 2)]
    dumped = json.dumps([records, reviews], default=str, ensure_ascii=False)
    for marker in _markers(p):
        assert marker not in dumped, f"{marker!r} is stored in an audit table"
    assert all(r["raw_text"] is None for r in records), "no raw text unless TRIAGE_STORE_RAW_TEXT"
    assert "[NAAM]" in records[0]["redacted_text"] and "[TELEFOON]" in records[0]["redacted_text"]
    assert "[EMAIL]" in records[0]["redacted_text"] and reviews[0]["note"] == "mail [EMAIL]"

    detail = client.get(f"/v1/audit/predictions/{record_id}", headers=R).json()
    assert detail["text"] == records[0]["redacted_text"] and detail["redactions"]["TELEFOON"] == 1
    assert detail["text_chars"] == len(secret) and detail["raw_text_stored"] is False
    flags = detail["prediction"]["red_flags"]
    assert {f["cue"] for f in flags} >= {"strangulation", "weapon"}
    for flag in flags:  # offsets point into the redacted text
        assert detail["text"][flag["start_char"]:flag["end_char"]] == flag["text"]
    assert detail["explanation"]["summary_nl"] and detail["guidance"] and detail["spacy_pipeline"]
    # the override is linked to the chat's latest record, its reason redacted
    latest = client.get(f"/v1/audit/predictions/{records[2]['id']}", headers=R).json()
    assert latest["overridden"] and latest["overrides"][0]["fields"] == {"urgency": "acute"}
    assert latest["overrides"][0]["reason"].startswith("[NAAM] belt vanaf [TELEFOON]")
    # who: the key's label and id; the typed name beside it as self-declared
    assert latest["overrides"][0]["advisor"] == "env:advisor#2" and latest["overrides"][0]["name"] == "Anouk"
    assert not client.get(f"/v1/audit/predictions/{records[1]['id']}", headers=R).json()["overridden"]
    export = client.get("/v1/audit/export", headers=R)
    listing = client.get("/v1/audit/predictions", headers=R)
    for body in (export.text, listing.text, json.dumps(detail), json.dumps(latest)):
        assert not any(m in body for m in _markers(p))


def test_redacted_prediction_offsets_and_features(model):
    from api.audit import redact_prediction

    raw = "Jan de Vries heeft me gewurgd, bel 06-12345678"
    prediction = model.predict_one(raw)
    prediction["red_flags"].append({"cue": "test", "label_nl": "test", "text": raw, "start_char": 0,
                                    "end_char": len(raw), "when": "now", "floor": None})
    prediction["explanation"]["role"].append({"feature": "lemma__jan", "kind": "woord", "description_nl": '"jan"',
                                              "weight": 0.1})
    prediction["explanation"]["urgency"].append({"feature": "word__jan de", "kind": "woord",
                                                 "description_nl": '"jan de"', "weight": 0.1})
    redacted, safe, counts = redact_prediction(raw, prediction)
    assert redacted == "[NAAM] heeft me gewurgd, bel [TELEFOON]" and counts == {"NAAM": 1, "TELEFOON": 1}
    assert safe["red_flags"][-1]["text"] == redacted
    strangled = next(f for f in safe["red_flags"] if f["cue"] == "strangulation")
    assert redacted[strangled["start_char"]:strangled["end_char"]] == strangled["text"] == "gewurgd"
    assert safe["explanation"]["role"][-1]["feature"] == "lemma__[NAAM]"
    assert safe["explanation"]["urgency"][-1]["feature"] == "word__[NAAM]"
    assert "Jan" not in json.dumps(safe) and "12345678" not in json.dumps(safe)
    assert prediction["red_flags"][-1]["text"] == raw, "the served prediction is not changed"


# --- retention and purge ------------------------------------------------------------------------

def test_raw_text_only_when_enabled_and_purged(make_client, db_url, monkeypatch, capsys, tmp_path):
    from api.audit import purge
    from triage_cli.main import main

    p = _pii()
    client = make_client(db_url, store_raw_text=True, raw_retention_days=30)
    settings = client.app.state.runtime.settings
    db = client.app.state.runtime.db
    record_id = _triage(client, _pii_text(p))
    assert _rows(db_url, "audit_records")[0]["raw_text"] == _pii_text(p)
    detail = client.get(f"/v1/audit/predictions/{record_id}", headers=R)
    assert detail.json()["raw_text_stored"] is True and p["surname"] not in detail.text, "never served"
    # chats: text the service already empties on close; purge catches anything left behind
    for chat_id in ("old", "recent", "open"):
        client.post("/v1/chats", json={"chat_id": chat_id, "text": f"ik ben {p['surname']}"}, headers=Q)
    for chat_id in ("old", "recent"):
        client.post(f"/v1/chats/{chat_id}/close", json={"outcome": "advice"}, headers=A)
    _execute(db_url, "UPDATE chats SET raw_preview = 'over' WHERE chat_id IN ('old', 'recent')")
    _execute(db_url, "UPDATE chat_messages SET raw_text = 'over' WHERE chat_id IN ('old', 'recent')")
    _execute(db_url, "UPDATE chats SET closed_at = :t WHERE chat_id = 'old'",
             t=datetime.now(timezone.utc) - timedelta(days=31))

    now = datetime.now(timezone.utc)
    assert purge(settings, now, db=db, dry_run=True)["cleared"] == {
        "audit_records.raw_text": 0, "chat_messages.raw_text": 1, "chats.raw_preview": 1}
    assert purge(settings, now, db=db)["cleared"] == {
        "audit_records.raw_text": 0, "chat_messages.raw_text": 1, "chats.raw_preview": 1}
    chats = {r["chat_id"]: r["raw_preview"] for r in _rows_chats(db_url)}
    assert chats["old"] is None and chats["recent"] == "over" and chats["open"], "only past retention"
    assert all(r["raw_text"] for r in _rows(db_url, "audit_records")), "within retention"
    later = purge(settings, now + timedelta(days=31), db=db)["cleared"]
    assert later == {"audit_records.raw_text": 4, "chat_messages.raw_text": 1, "chats.raw_preview": 1}
    assert all(r["raw_text"] is None for r in _rows(db_url, "audit_records"))
    # an open chat keeps its text while it is in use; untouched for 31 days it was closed as
    # abandoned (TRIAGE_ABANDONED_HOURS, api/retention.py) and its text went with it
    assert later_closed(db_url) == {"open": ("closed", "disconnected")}

    # `triage purge` with raw text switched off clears all raw text in audit records at once
    _execute(db_url, "UPDATE audit_records SET raw_text = 'left over'")
    for name in list(__import__("os").environ):
        if name.startswith("TRIAGE_") and name != "TRIAGE_SPACY_MODEL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIAGE_STORE_RAW_TEXT", "false")
    capsys.readouterr()
    assert main(["purge", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cleared"]["audit_records.raw_text"] == 4
    assert main(["purge"]) == 0 and "cleared 0 audit_records.raw_text" in capsys.readouterr().out
    assert all(r["raw_text"] is None for r in _rows(db_url, "audit_records"))


def later_closed(db_url):
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {r.chat_id: (r.status, r.outcome) for r in conn.execute(
                text("SELECT chat_id, status, outcome, raw_preview FROM chats WHERE chat_id = 'open' "
                     "AND raw_preview IS NULL"))}
    finally:
        engine.dispose()


def _rows_chats(db_url):
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text("SELECT chat_id, raw_preview FROM chats")).mappings()]
    finally:
        engine.dispose()


# --- listing, filters, pagination -------------------------------------------------------------------

def test_filters_and_pagination(make_client, db_url):
    client = make_client(db_url)
    for t in TEXTS:
        _triage(client, t)
    client.post("/v1/chats", json={"chat_id": "q1", "text": TEXTS[3]}, headers=Q)
    client.post("/v1/chats", json={"chat_id": "q2", "text": TEXTS[4]}, headers=Q)
    client.post("/v1/chats/q2/messages", json={"text": "en nu slaat hij haar"}, headers=Q)
    client.patch("/v1/chats/q1/triage", json={"urgency": "acute", "reason": "kind in gevaar"}, headers=A)
    everything = _all_records(client)
    assert len(everything) == len(TEXTS) + 3
    ids = [r["id"] for r in everything]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert {r["low_confidence"] for r in everything} == {True, False}
    assert {r["needs_review"] for r in everything} == {True, False}

    def check(params: dict, keep) -> None:
        got = [r["id"] for r in _all_records(client, **params)]
        assert got == [r["id"] for r in everything if keep(r)], params

    check({"needs_review": "true"}, lambda r: r["needs_review"])
    check({"needs_review": "false"}, lambda r: not r["needs_review"])
    check({"low_confidence": "true"}, lambda r: r["top_scores"]["role"] < 0.6 or r["top_scores"]["urgency"] < 0.6)
    check({"low_confidence": "false"}, lambda r: not r["low_confidence"])
    check({"overridden": "true"}, lambda r: r["chat_id"] == "q1")
    check({"role": "victim"}, lambda r: r["role"] == "victim")
    check({"urgency": "acute"}, lambda r: r["urgency"] == "acute")
    check({"minor": "true"}, lambda r: r["minor"])
    check({"source": "queue"}, lambda r: r["chat_id"] is not None)
    check({"source": "message"}, lambda r: r["source"] == "message")
    check({"chat_id": "q2"}, lambda r: r["chat_id"] == "q2")
    check({"urgency": "acute", "needs_review": "false"}, lambda r: r["urgency"] == "acute" and not r["needs_review"])
    check({"model_version": everything[0]["model_version"]}, lambda r: True)
    check({"model_version": "no-such-model"}, lambda r: False)
    check({"reviewed": "true"}, lambda r: False)
    middle = sorted(everything, key=lambda r: r["id"])[4]
    check({"from": middle["created_at"]}, lambda r: r["created_at"] >= middle["created_at"])
    check({"to": middle["created_at"]}, lambda r: r["created_at"] < middle["created_at"])
    check({"from": "2000-01-01", "to": "2000-01-02"}, lambda r: False)

    # keyset pages: stable, complete, no duplicates
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get("/v1/audit/predictions", params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                       headers=R)
        body = r.json()
        assert r.status_code == 200 and body["total"] == len(everything) + pages and body["count"] <= 3
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        _triage(client, "hoi")  # new records while paging do not disturb the pages
    assert seen == ids and pages == -(-len(ids) // 3)

    for params, field in (({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "nonsense!"}, "cursor"),
                          ({"role": "boss"}, "role"), ({"from": "yesterday"}, "from"),
                          ({"from": "2025-02-01", "to": "2025-01-01"}, "from"), ({"minor": "maybe"}, "minor")):
        r = client.get("/v1/audit/predictions", params=params, headers=R)
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)
    assert client.get("/v1/audit/predictions/999999", headers=R).status_code == 404
    assert client.get("/v1/audit/predictions/abc", headers=R).status_code == 422


# --- reviews, agreement, gold, export -----------------------------------------------------------------

def _verdict(record: dict, labels: dict) -> dict:
    """A review body that gives `labels` (role/minor/urgency/topics) for a record."""
    body, corrected = {}, {}
    for head in ("role", "minor", "urgency"):
        ok = labels.get(head, record[head]) == record[head]
        body[f"{head}_ok"] = ok
        if not ok:
            corrected[head] = labels[head]
    if "topics" in labels:
        corrected["topics"] = labels["topics"]
    if corrected:
        body["corrected"] = corrected
    return body


def _other_urgency(u: str) -> str:
    return {"acute": "high", "high": "acute", "normal": "low", "low": "normal"}[u]


def test_two_reviewers_agreement_gold_and_export(make_client, db_url, tmp_path):
    from sklearn.metrics import cohen_kappa_score

    from training.schema import load_labelled

    client = make_client(db_url, api_keys=TWO_REVIEWERS)
    ids = [_triage(client, t) for t in TEXTS[:6]]
    recs = [client.get(f"/v1/audit/predictions/{i}", headers=R).json() for i in ids]
    other_role = {r["id"]: ("bystander" if r["role"] != "bystander" else "victim") for r in recs}
    # What each reviewer says per record (missing heads: the model's label).
    a = [{}, {}, {"role": other_role[ids[2]]}, {"role": "professional" if recs[3]["role"] != "professional" else
                                                "unknown"}, {}, {}]
    b = [{}, {"urgency": _other_urgency(recs[1]["urgency"])}, {}, dict(a[3]), {"minor": not recs[4]["minor"]}, None]
    for rec, mine in zip(recs, a):
        r = client.post(f"/v1/audit/predictions/{rec['id']}/reviews", json=_verdict(rec, mine), headers=R)
        assert r.status_code == 201, r.text
    for rec, theirs in zip(recs, b):
        if theirs is not None:
            r = client.post(f"/v1/audit/predictions/{rec['id']}/reviews", json=_verdict(rec, theirs), headers=R2)
            assert r.status_code == 201, r.text
    # the same reviewer again replaces the review (200), it does not add one
    r = client.post(f"/v1/audit/predictions/{ids[0]}/reviews", json={**_verdict(recs[0], {}), "note": "akkoord"},
                    headers=R2)
    assert r.status_code == 200 and r.json()["review_count"] == 2
    assert [v["note"] for v in r.json()["reviews"]] == [None, "akkoord"]
    expected_id = "key-" + hashlib.sha256(KEYS["reviewer"].encode()).hexdigest()[:12]
    assert r.json()["reviews"][0]["reviewer"] == expected_id

    gold = {i: client.get(f"/v1/audit/predictions/{i}", headers=R).json()["gold"] for i in ids}
    assert gold[ids[0]]["resolved"] and gold[ids[0]]["role"] == recs[0]["role"]
    more_urgent = min(recs[1]["urgency"], _other_urgency(recs[1]["urgency"]),
                      key=["acute", "high", "normal", "low"].index)
    assert gold[ids[1]]["urgency"] == more_urgent and gold[ids[1]]["resolved"], "urgency tie: the more urgent"
    assert gold[ids[2]]["role"] is None and gold[ids[2]]["unresolved"] == ["role"], "role tie: unresolved"
    assert gold[ids[3]]["role"] == a[3]["role"] and gold[ids[3]]["resolved"]
    assert gold[ids[4]]["minor"] is None and not gold[ids[4]]["resolved"]
    assert gold[ids[5]]["resolved"] and gold[ids[5]]["reviews"] == 1
    listing = {r["id"]: r for r in _all_records(client, reviewed="true")}
    assert set(listing) == set(ids)
    assert {r["id"] for r in _all_records(client, resolved="false")} == {ids[2], ids[4]}

    stats = client.get("/v1/audit/stats", headers=R).json()
    pairs = list(zip(recs[:5], a[:5], b[:5]))
    for head in ("role", "minor", "urgency"):
        first = [str(m.get(head, rec[head])) for rec, m, _ in pairs]
        second = [str(t.get(head, rec[head])) for rec, _, t in pairs]
        got = stats["agreement"][head]
        assert got["method"] == "cohen" and got["records"] == 5 and got["reviewers"] == 2
        assert got["percent_agreement"] == pytest.approx(sum(x == y for x, y in zip(first, second)) / 5, abs=1e-4)
        if len(set(first + second)) > 1:
            assert got["kappa"] == pytest.approx(cohen_kappa_score(first, second), abs=1e-4)
    assert stats["reviews"]["records_reviewed"] == 6 and stats["reviews"]["records_resolved"] == 4
    assert stats["reviews"]["reviewers"] == 2 and stats["reviews"]["records_with_two_or_more"] == 5

    # a third reviewer (the admin's key) breaks the role tie: resolved, and agreement becomes Fleiss'
    r = client.post(f"/v1/audit/predictions/{ids[2]}/reviews", json=_verdict(recs[2], a[2]), headers=D)
    assert r.status_code == 201 and r.json()["gold"]["role"] == a[2]["role"] and r.json()["gold"]["resolved"]
    assert client.get("/v1/audit/stats", headers=R).json()["agreement"]["role"]["method"] == "fleiss"

    export = client.get("/v1/audit/export", headers=R)
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in export.headers["content-disposition"]
    *lines, end = [json.loads(line) for line in export.text.splitlines()]
    assert [line["audit_id"] for line in lines] == sorted([ids[0], ids[1], ids[2], ids[3], ids[5]])
    assert end["end_of_export"] is True and end["records"] == 5
    path = tmp_path / "export.jsonl"
    path.write_text(export.text, encoding="utf-8")
    records = load_labelled([path])  # the training format: every line validates
    by_id = {rec.id: rec for rec in records}
    assert by_id[f"audit-{ids[3]}"].role == a[3]["role"] and by_id[f"audit-{ids[1]}"].urgency == more_urgent
    empty = client.get("/v1/audit/export", params={"model_version": "other"}, headers=R).text.splitlines()
    assert len(empty) == 1 and json.loads(empty[0])["records"] == 0
    examples = client.app.state.runtime.service.audit.gold_examples()
    assert [e.id for e in examples] == [line["id"] for line in lines]

    # bad reviews: clear 4xx, nothing stored
    rec = recs[0]
    bad = [
        ({"role_ok": False, "minor_ok": True, "urgency_ok": True}, "corrected.role"),
        ({"role_ok": True, "minor_ok": True, "urgency_ok": True, "corrected": {"role": other_role[rec["id"]]}},
         "corrected.role"),
        ({"role_ok": True, "minor_ok": False, "urgency_ok": True, "corrected": {"minor": rec["minor"]}},
         "corrected.minor"),
        ({"role_ok": True, "minor_ok": True, "urgency_ok": True, "corrected": {"topics": ["war"]}}, "corrected.topics.0"),
        ({"role_ok": True, "minor_ok": True, "urgency_ok": True, "corrected": {"topics": ["sexual", "sexual"]}},
         "corrected.topics"),
        ({"role_ok": "yes", "minor_ok": True, "urgency_ok": True}, "role_ok"),
        ({"minor_ok": True, "urgency_ok": True}, "role_ok"),
        ({"role_ok": True, "minor_ok": True, "urgency_ok": True, "note": "x" * 1001}, "note"),
    ]
    for body, field in bad:
        r = client.post(f"/v1/audit/predictions/{rec['id']}/reviews", json=body, headers=D)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    r = client.post("/v1/audit/predictions/424242/reviews", json={"role_ok": True, "minor_ok": True,
                                                                   "urgency_ok": True}, headers=R)
    assert r.status_code == 404 and r.json()["code"] == "record_not_found"
    assert client.get(f"/v1/audit/predictions/{rec['id']}", headers=R).json()["review_count"] == 2


# --- statistics -------------------------------------------------------------------------------------

def test_stats(make_client, db_url, model, cards):
    client = make_client(db_url, api_keys=TWO_REVIEWERS)
    audit = client.app.state.runtime.service.audit
    now = datetime.now(timezone.utc)
    earlier = now - timedelta(days=14)
    # two weeks ago, an older model version; now, the current one
    old_ids = []
    for t in TEXTS[:4]:
        prediction = {**model.predict_one(t), "model_version": "old-model"}
        old_ids.append(audit.record(audit.build(t, prediction, cards.select(prediction), source="triage",
                                                now=earlier)))
    new_ids = [_triage(client, t) for t in TEXTS[2:6]]
    client.post("/v1/chats", json={"chat_id": "s1", "text": TEXTS[2]}, headers=Q)
    client.post("/v1/chats", json={"chat_id": "s2", "text": TEXTS[3]}, headers=Q)
    client.post("/v1/chats/s2/messages", json={"text": "hij slaat nog steeds"}, headers=Q)
    client.patch("/v1/chats/s1/triage", json={"role": "bystander", "reason": "schrijft over de buurvrouw"},
                 headers=A)
    # reviews: the old model wrong on urgency for two records, the new one right everywhere
    for i in old_ids[:2]:
        rec = client.get(f"/v1/audit/predictions/{i}", headers=R).json()
        client.post(f"/v1/audit/predictions/{i}/reviews",
                    json=_verdict(rec, {"urgency": _other_urgency(rec["urgency"])}), headers=R)
    for i in old_ids[2:] + new_ids:
        rec = client.get(f"/v1/audit/predictions/{i}", headers=R).json()
        client.post(f"/v1/audit/predictions/{i}/reviews", json=_verdict(rec, {}), headers=R)

    stats = client.get("/v1/audit/stats", headers=R).json()
    records = _all_records(client)
    assert stats["records"] == len(records) == 11
    weeks = stats["weeks"]
    week_of = {r["id"]: r for r in records}
    assert [w["week"] for w in weeks] == sorted({_week(earlier), _week(now)})
    for w in weeks:
        assert sum(w["role"].values()) == sum(w["urgency"].values()) == sum(w["minor"].values()) == w["records"]
    assert weeks[0]["records"] == 4 and weeks[-1]["records"] == 7
    assert stats["needs_review"]["count"] == sum(r["needs_review"] for r in records)
    assert stats["needs_review"]["share"] == pytest.approx(stats["needs_review"]["count"] / 11, abs=1e-4)
    assert stats["overrides"] == {"chats": 2, "overridden_chats": 1, "rate": 0.5, "overridden_records": 1}
    assert weeks[-1]["override_rate"] == 0.5 and weeks[0]["override_rate"] is None
    old, new = stats["accuracy"]["old-model"], stats["accuracy"][records[0]["model_version"]]
    assert old["reviewed"] == 4 and old["urgency"] == {"n": 4, "accuracy": 0.5} and old["role"]["accuracy"] == 1.0
    assert new["reviewed"] == 4 and new["urgency"] == {"n": 4, "accuracy": 1.0}
    assert weeks[0]["accuracy"]["urgency"]["accuracy"] == 0.5, "drift shows per week too"
    assert week_of  # records carry their week through created_at
    only_new = client.get("/v1/audit/stats", params={"from": (now - timedelta(days=1)).isoformat()}, headers=R).json()
    assert only_new["records"] == 7 and "old-model" not in only_new["accuracy"]
    only_old = client.get("/v1/audit/stats", params={"model_version": "old-model"}, headers=R).json()
    assert only_old["records"] == 4 and only_old["overrides"]["chats"] == 0


def test_reviews_stay_hidden_until_the_reviewer_reviewed(make_client, db_url):
    client = make_client(db_url, api_keys=TWO_REVIEWERS)
    rid = _triage(client, TEXTS[4])
    record = client.get(f"/v1/audit/predictions/{rid}", headers=D).json()
    model_urgency = record["urgency"]
    other = _other_urgency(model_urgency)
    # the second reviewer corrects the urgency
    r = client.post(f"/v1/audit/predictions/{rid}/reviews", json=_verdict(record, {"urgency": other}), headers=R2)
    assert r.status_code == 201 and r.json()["reviews_hidden"] is False and len(r.json()["reviews"]) == 1

    # the first reviewer has not reviewed yet: no verdicts, no gold labels, no votes
    hidden = client.get(f"/v1/audit/predictions/{rid}", headers=R)
    assert hidden.status_code == 200
    body = hidden.json()
    assert body["reviews_hidden"] is True and body["reviews"] == [] and body["gold"] is None
    assert other not in json.dumps({k: body[k] for k in ("reviews", "gold")})
    assert body["review_count"] == 1 and body["urgency"] == model_urgency  # the model's own output stays
    # the admin sees everything
    admin = client.get(f"/v1/audit/predictions/{rid}", headers=D).json()
    assert admin["reviews_hidden"] is False and [v["labels"]["urgency"] for v in admin["reviews"]] == [other]
    assert admin["gold"]["urgency"] == other and admin["gold"]["tie_broken"] == []

    # nor does the export show the settled labels to a reviewer who has not reviewed the record
    def exported(headers):
        lines = [json.loads(x) for x in client.get("/v1/audit/export", headers=headers).text.splitlines()]
        assert lines[-1]["end_of_export"] is True
        return [x["audit_id"] for x in lines[:-1]]

    assert exported(R) == [] and exported(R2) == [rid] and exported(D) == [rid]

    # after their own review (agreeing with the model) the first reviewer sees both; a tie on the
    # urgency goes to the more urgent label, and the answer says so
    r = client.post(f"/v1/audit/predictions/{rid}/reviews", json=_verdict(record, {}), headers=R)
    assert r.status_code == 201, r.text
    more_urgent = min(model_urgency, other, key=["acute", "high", "normal", "low"].index)
    for answer in (r.json(), client.get(f"/v1/audit/predictions/{rid}", headers=R).json()):
        assert answer["reviews_hidden"] is False and len(answer["reviews"]) == 2
        assert answer["gold"]["urgency"] == more_urgent and answer["gold"]["tie_broken"] == ["urgency"]
        assert answer["gold"]["votes"]["urgency"] == {model_urgency: 1, other: 1}
    # a record nobody reviewed: hidden for a reviewer too (nothing to show), open to the admin
    fresh = _triage(client, TEXTS[1])
    assert client.get(f"/v1/audit/predictions/{fresh}", headers=R).json()["reviews_hidden"] is True
    assert client.get(f"/v1/audit/predictions/{fresh}", headers=D).json()["gold"]["reviews"] == 0


def test_stats_safety_figures_and_confusion_matrices(make_client, db_url, model, cards):
    from api.audit.schemas import AuditStats

    client = make_client(db_url)
    audit = client.app.state.runtime.service.audit
    # (model version, model urgency, reviewed urgency or None for no review, reviewed role, reviewed minor)
    plan = [
        ("m-a", "acute", "acute", "victim", False),     # acute caught
        ("m-a", "acute", "high", "victim", False),      # acute called wrongly (over-triage)
        ("m-a", "low", "acute", "victim", False),       # acute missed: under-triage
        ("m-a", "normal", "high", "victim", False),     # under-triage
        ("m-a", "high", "high", "bystander", False),    # role corrected
        ("m-a", "normal", "normal", "victim", True),    # minor corrected
        ("m-a", "high", "acute", "victim", False),      # acute missed: under-triage
        ("m-a", "low", None, None, None),               # not reviewed: not counted
        ("m-b", "high", "low", "victim", False),        # over-triage
        ("m-b", "acute", "acute", "victim", False),     # acute caught
    ]
    for version, urgency, gold, role, minor in plan:
        text_ = TEXTS[2]
        prediction = {**model.predict_one(text_), "model_version": version, "urgency": urgency, "role": "victim",
                      "minor": False}
        rid = audit.record(audit.build(text_, prediction, cards.select(prediction), source="triage"))
        if gold is None:
            continue
        rec = client.get(f"/v1/audit/predictions/{rid}", headers=D).json()
        r = client.post(f"/v1/audit/predictions/{rid}/reviews", headers=R,
                        json=_verdict(rec, {"urgency": gold, "role": role, "minor": minor}))
        assert r.status_code == 201, r.text

    stats = client.get("/v1/audit/stats", headers=R).json()
    AuditStats.model_validate(stats)  # the documented schema
    assert stats["under_triage"] == {"records": 9, "under": 3, "rate": 0.3333}
    assert stats["acute"] == {"records": 9, "reviewed_acute": 4, "model_acute": 3, "both": 2,
                              "recall": 0.5, "precision": 0.6667}
    assert sorted(stats["confusion"]) == ["m-a", "m-b"]
    urgency = stats["confusion"]["m-a"]["urgency"]
    assert urgency["labels"] == ["acute", "high", "normal", "low"] and urgency["n"] == 7
    assert urgency["matrix"] == [[1, 1, 0, 1],   # reviewed acute: model acute, high, low
                                 [1, 1, 1, 0],   # reviewed high: model acute, high, normal
                                 [0, 0, 1, 0],
                                 [0, 0, 0, 0]]
    role = stats["confusion"]["m-a"]["role"]
    assert role["labels"] == ["victim", "bystander", "perpetrator", "professional", "unknown"]
    assert role["matrix"][0] == [6, 0, 0, 0, 0] and role["matrix"][1] == [1, 0, 0, 0, 0] and role["n"] == 7
    assert stats["confusion"]["m-a"]["minor"] == {"labels": ["true", "false"], "rows": "reviewed",
                                                  "columns": "model", "matrix": [[0, 1], [0, 6]], "n": 7}
    assert stats["confusion"]["m-b"]["urgency"]["matrix"] == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                                                              [0, 1, 0, 0]]
    # the model-version filter narrows every figure
    only_b = client.get("/v1/audit/stats", params={"model_version": "m-b"}, headers=R).json()
    assert list(only_b["confusion"]) == ["m-b"]
    assert only_b["under_triage"] == {"records": 2, "under": 0, "rate": 0.0}
    assert only_b["acute"]["recall"] == 1.0 and only_b["acute"]["precision"] == 1.0
    none = client.get("/v1/audit/stats", params={"model_version": "no-such-model"}, headers=R).json()
    assert none["under_triage"] == {"records": 0, "under": 0, "rate": None} and none["confusion"] == {}
    assert none["acute"]["recall"] is None and none["acute"]["precision"] is None
    # the stats endpoint documents its schema
    schema = client.get("/openapi.json").json()
    ref = schema["paths"]["/v1/audit/stats"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ref["$ref"].endswith("/AuditStats")
    assert {"under_triage", "acute", "confusion"} <= set(schema["components"]["schemas"]["AuditStats"]["properties"])


def test_chat_id_search(make_client, db_url):
    client = make_client(db_url)
    for chat_id, text_ in (("zoek-1", TEXTS[3]), ("zoek-2", TEXTS[4])):
        assert client.post("/v1/chats", json={"chat_id": chat_id, "text": text_}, headers=Q).status_code == 201
    _triage(client, TEXTS[5])
    found = _all_records(client, chat_id="zoek-2")
    assert [(r["chat_id"], r["source"]) for r in found] == [("zoek-2", "chat")]
    assert _all_records(client, chat_id="zoek-3") == []
    r = client.get("/v1/audit/predictions", params={"chat_id": "geen geldig id!"}, headers=R)
    assert r.status_code == 422 and r.json()["field"] == "chat_id"


def _week(value: datetime) -> str:
    year, week, _ = value.isocalendar()
    return f"{year}-W{week:02d}"


# --- roles ----------------------------------------------------------------------------------------------

REVIEW_ROLES = {"reviewer", "admin"}
CALLERS = ["none", "wrong", "malformed", *KEYS]
AUDIT_ENDPOINTS = [
    ("get", "/v1/audit/predictions", None, REVIEW_ROLES),
    ("get", "/v1/audit/predictions/{id}", None, REVIEW_ROLES),
    ("post", "/v1/audit/predictions/{id}/reviews", {"role_ok": True, "minor_ok": True, "urgency_ok": True},
     REVIEW_ROLES),
    ("get", "/v1/audit/export", None, REVIEW_ROLES),
    ("get", "/v1/audit/stats", None, REVIEW_ROLES),
    ("get", "/v1/models", None, REVIEW_ROLES),
    ("post", "/v1/models/{version}/activate", None, {"admin"}),
]

_headers = caller_headers


def test_role_matrix_for_audit_and_models(make_registry_client, db_url, registry):
    """Every new endpoint x every caller: 401 without a valid key, 403 for a role without the
    right, 2xx for reviewer and admin (activation: admin only; the active version is a no-op)."""
    client = make_registry_client(db_url)
    _, version = registry
    record_id = _triage(client, TEXTS[2])
    for method, path, body, allowed in AUDIT_ENDPOINTS:
        for caller in CALLERS:
            url = path.replace("{id}", str(record_id)).replace("{version}", version)
            r = client.request(method, url, json=body, headers=_headers(caller))
            if caller in ("none", "wrong", "malformed"):
                assert r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer", (path, caller)
            elif caller in allowed:
                created = path.endswith("/reviews")  # each caller's first review: 201; the rest read or no-op
                assert r.status_code == (201 if created else 200), (method, path, caller, r.status_code, r.text)
            else:
                assert r.status_code == 403 and r.json()["code"] == "forbidden", (method, path, caller, r.text)
    r = client.post(f"/v1/models/{version}/activate", headers=D)
    assert r.json()["changed"] is False
    # every audit and model route of the OpenAPI schema is in the matrix
    paths = client.get("/openapi.json").json()["paths"]
    routes = {(m, p.replace("{record_id}", "{id}")) for p, ops in paths.items() for m in ops
              if p.startswith(("/v1/audit", "/v1/models"))}
    assert routes == {(m, p) for m, p, _, _ in AUDIT_ENDPOINTS}
