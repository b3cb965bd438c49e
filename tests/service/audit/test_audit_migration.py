"""Migration 0007 (per-head labels as rows): a database filled at 0006 keeps every label, score and
gold label of its audit records and reviews through the upgrade, reads back the same through the
audit store, and gets its columns back on the downgrade. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command

from triage.labels import ROLES, TOPICS, URGENCIES

RECORDS, REVIEWERS = 60, ("rev-a", "rev-b", "rev-c")

T0006 = sa.MetaData()
RECORDS_0006 = sa.Table(
    "audit_records", T0006, sa.Column("id", sa.Integer, primary_key=True), sa.Column("created_at", sa.DateTime),
    sa.Column("week", sa.String), sa.Column("source", sa.String), sa.Column("request_key", sa.String),
    sa.Column("model_version", sa.String), sa.Column("spacy_pipeline", sa.String), sa.Column("role", sa.String),
    sa.Column("minor", sa.Boolean), sa.Column("urgency", sa.String), sa.Column("topics", sa.JSON),
    sa.Column("role_score", sa.Float), sa.Column("urgency_score", sa.Float), sa.Column("needs_review", sa.Boolean),
    sa.Column("redacted_text", sa.Text), sa.Column("text_chars", sa.Integer), sa.Column("text_truncated", sa.Boolean),
    sa.Column("redactions", sa.JSON), sa.Column("prediction", sa.JSON), sa.Column("guidance", sa.JSON),
    sa.Column("overridden", sa.Boolean), sa.Column("overrides", sa.JSON), sa.Column("review_count", sa.Integer),
    sa.Column("gold_role", sa.String), sa.Column("gold_minor", sa.Boolean), sa.Column("gold_urgency", sa.String),
    sa.Column("gold_topics", sa.JSON), sa.Column("gold_resolved", sa.Boolean))
REVIEWS_0006 = sa.Table(
    "reviews", T0006, sa.Column("id", sa.Integer, primary_key=True), sa.Column("record_id", sa.Integer),
    sa.Column("reviewer", sa.String), sa.Column("reviewer_name", sa.String), sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime), sa.Column("role_ok", sa.Boolean), sa.Column("minor_ok", sa.Boolean),
    sa.Column("urgency_ok", sa.Boolean), sa.Column("topics_ok", sa.Boolean), sa.Column("role", sa.String),
    sa.Column("minor", sa.Boolean), sa.Column("urgency", sa.String), sa.Column("topics", sa.JSON),
    sa.Column("note", sa.Text))


def _fill_0006(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Records and reviews as the code of 0006 wrote them (gold labels resolved from the reviews)."""
    from api.audit.agreement import resolve_gold  # the rule is unchanged by the migration

    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc).replace(tzinfo=None)
    records, reviews = [], []
    for i in range(1, RECORDS + 1):
        role_scores = {r: rng.random() for r in ROLES}
        urgency_scores = {u: rng.random() for u in URGENCIES}
        p_minor = rng.random()
        topic_scores = {t: rng.random() for t in TOPICS}
        topics = [t for t in TOPICS if topic_scores[t] >= 0.6]  # some records with none
        role, urgency = max(role_scores, key=role_scores.get), rng.choice(URGENCIES)  # urgency: floors move it
        record = {
            "id": i, "created_at": now + timedelta(minutes=i), "week": "2026-W48", "source": "triage",
            "request_key": f"{i:032x}", "model_version": "v1", "spacy_pipeline": "nl", "role": role,
            "minor": p_minor >= 0.5, "urgency": urgency, "topics": topics, "role_score": max(role_scores.values()),
            "urgency_score": max(urgency_scores.values()), "needs_review": False, "redacted_text": f"tekst {i}",
            "text_chars": 8, "text_truncated": False, "redactions": {}, "guidance": [], "overridden": False,
            "overrides": [],
            "prediction": {"role": role, "minor": p_minor >= 0.5, "urgency": urgency, "topics": topics,
                           "scores": {"role": role_scores, "urgency": urgency_scores, "topics": topic_scores,
                                      "minor": {"true": p_minor, "false": 1 - p_minor}}},
        }
        given = []
        for who in rng.sample(REVIEWERS, rng.choice([0, 0, 1, 2, 3])):
            labels = {"role": rng.choice([role, rng.choice(ROLES)]),
                      "minor": rng.choice([record["minor"], True, False]),
                      "urgency": rng.choice([urgency, rng.choice(URGENCIES)]),
                      "topics": rng.choice([topics, [], rng.sample(TOPICS, 2)])}
            labels["topics"] = [t for t in TOPICS if t in labels["topics"]]
            reviews.append({"id": len(reviews) + 1, "record_id": i, "reviewer": who, "reviewer_name": None,
                            "created_at": now, "updated_at": now, "note": None, **labels,
                            **{f"{h}_ok": labels[h] == record[h] for h in ("role", "minor", "urgency")},
                            "topics_ok": set(labels["topics"]) == set(topics)})
            given.append(labels)
        gold = resolve_gold(given)
        record.update(review_count=len(given), gold_role=gold["role"], gold_minor=gold["minor"],
                      gold_urgency=gold["urgency"], gold_topics=gold["topics"], gold_resolved=gold["resolved"])
        records.append(record)
    return records, reviews


def _alembic(db, action: str, revision: str) -> None:
    from api.db import migrate

    cfg = migrate.alembic_config()
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)
        conn.commit()


def test_0007_keeps_every_label_score_and_gold(db_url):
    from api.audit import AuditStore
    from api.db import migrate
    from api.db.session import Database

    rng = random.Random(14)
    records, reviews = _fill_0006(rng)
    assert any(r["gold_minor"] is False for r in records) and any(r["gold_topics"] == [] for r in records)
    assert any(r["gold_role"] is None and r["review_count"] for r in records), "a tie leaves a head unresolved"
    assert any(v["topics"] == [] for v in reviews) and any(not v["role_ok"] for v in reviews)

    db = Database(db_url)
    try:
        migrate.upgrade(db, "0006")
        with db.engine.begin() as conn:
            conn.execute(RECORDS_0006.insert(), records)
            conn.execute(REVIEWS_0006.insert(), reviews)
            if db.dialect == "postgresql":  # explicit ids: move the sequences on
                conn.execute(sa.text("SELECT setval('audit_records_id_seq', 1000), setval('reviews_id_seq', 1000)"))
        migrate.upgrade(db)
        assert {c["name"] for c in sa.inspect(db.engine).get_columns("audit_records")}.isdisjoint(
            {"role", "minor", "urgency", "topics", "role_score", "gold_role", "gold_topics"})

        store = AuditStore(db, SimpleNamespace(store_raw_text=False))
        for record in records:
            got = store.get(record["id"])
            scores = record["prediction"]["scores"]
            assert (got["role"], got["minor"], got["urgency"], got["topics"]) == (
                record["role"], record["minor"], record["urgency"], record["topics"])
            assert got["top_scores"] == {"role": record["role_score"], "urgency": record["urgency_score"]}
            assert got["review_count"] == record["review_count"] and got["gold_resolved"] == record["gold_resolved"]
            gold = got["gold"]
            assert (gold["role"], gold["minor"], gold["urgency"], gold["topics"]) == (
                record["gold_role"], record["gold_minor"], record["gold_urgency"], record["gold_topics"])
            mine = [v for v in reviews if v["record_id"] == record["id"]]
            assert [(v["reviewer"], v["role_ok"], v["minor_ok"], v["urgency_ok"], v["topics_ok"], v["labels"])
                    for v in got["reviews"]] == [
                (v["reviewer"], v["role_ok"], v["minor_ok"], v["urgency_ok"], v["topics_ok"],
                 {h: v[h] for h in ("role", "minor", "urgency", "topics")}) for v in mine]
            # the scores that had no column come from the stored prediction
            with db.engine.connect() as conn:
                rows = {(h, label): score for h, label, score in conn.execute(sa.text(
                    "SELECT head, label, score FROM audit_labels WHERE record_id = :id AND source = 'model'"),
                    {"id": record["id"]})}
            minor = "true" if record["minor"] else "false"
            assert rows[("minor", minor)] == pytest.approx(max(scores["minor"].values()))
            assert {label: s for (h, label), s in rows.items() if h == "topics"} == pytest.approx(
                {t: scores["topics"][t] for t in record["topics"]})

        # a review after the migration resolves the gold labels from old and new reviews alike
        target = next(r for r in records if r["review_count"] == 1)
        body = SimpleNamespace(role_ok=True, minor_ok=True, urgency_ok=True, corrected=None, note=None)
        after, created = store.review(target["id"], body, "rev-new", None)
        assert created and after["review_count"] == 2 and len(after["reviews"]) == 2

        _alembic(db, "downgrade", "0006")
        with db.engine.connect() as conn:
            back = {row.id: row._asdict() for row in conn.execute(sa.select(RECORDS_0006))}
            back_reviews = {row.id: row._asdict() for row in conn.execute(sa.select(REVIEWS_0006))}
        for record in records:
            if record["id"] == target["id"]:
                continue  # reviewed again after the upgrade
            row = back[record["id"]]
            for key in ("role", "minor", "urgency", "topics", "role_score", "urgency_score", "gold_role",
                        "gold_minor", "gold_urgency", "gold_topics", "review_count", "gold_resolved"):
                assert row[key] == record[key], (record["id"], key)
        for review in reviews:
            row = back_reviews[review["id"]]
            for key in ("role", "minor", "urgency", "topics", "role_ok", "minor_ok", "urgency_ok", "topics_ok"):
                assert row[key] == review[key], (review["id"], key)
        assert "audit_labels" not in sa.inspect(db.engine).get_table_names()
        migrate.upgrade(db)  # and up again
        assert store.get(target["id"])["review_count"] == 2
    finally:
        db.dispose()
