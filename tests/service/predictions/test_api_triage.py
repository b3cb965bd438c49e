"""POST /v1/triage, guidance wiring, metrics, readiness, migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from service.helpers import auth

Q = auth("queue")
TEXT = "hij heeft me gisteren gewurgd en nu staat hij weer voor de deur, ik ben zo bang"


@pytest.fixture
def sclient(make_client, sqlite_url):
    return make_client(sqlite_url)


def test_triage_returns_the_prediction_and_guidance(sclient, model, cards):
    r = sclient.post("/v1/triage", json={"text": TEXT}, headers=Q)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = model.predict_one(TEXT)
    guidance = body.pop("guidance")
    assert body == expected, "everything `triage predict` returns, unchanged"
    assert set(expected) == {"role", "minor", "urgency", "topics", "scores", "red_flags", "needs_review",
                             "review_reasons", "language", "explanation", "model_version", "spacy_pipeline"}
    assert guidance == cards.select(expected, limit=4)
    # Strangled yesterday and at the door now: the strangulation card, whatever else the model says.
    assert "verwurging" in [c["id"] for c in guidance]
    for card in guidance:
        assert set(card) == {"id", "title", "body", "source", "reason"} and card["reason"]
    assert any(f["cue"] == "strangulation" for f in body["red_flags"])


def test_guidance_follows_an_override(client):
    client.post("/v1/chats", json={"chat_id": "c", "text": "ik wil graag advies over mijn buurjongen"}, headers=Q)
    before = [c["id"] for c in client.get("/v1/chats/c", headers=auth("advisor")).json()["guidance"]]
    r = client.patch("/v1/chats/c/triage", json={"urgency": "acute", "minor": True, "reason": "kind in gevaar"},
                     headers=auth("advisor"))
    assert r.status_code == 200, r.text
    after = [c["id"] for c in r.json()["guidance"]]
    # Acute and a minor after the override: both pinned cards, which the adult advice question did not get.
    assert {"acuut-gevaar", "minderjarigen"} <= set(after)
    assert not {"acuut-gevaar", "minderjarigen"} & set(before)


def test_metrics(sclient):
    sclient.post("/v1/triage", json={"text": TEXT}, headers=Q)
    sclient.post("/v1/chats", json={"chat_id": "m1", "text": TEXT}, headers=Q)
    sclient.post("/v1/chats", json={"chat_id": "m2", "text": "hoi"}, headers=Q)
    r = sclient.get("/metrics", headers=auth("admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'triage_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/chats",status="201"}' in text
    assert 'route="/v1/triage"' in text and "m1" not in text  # route templates, not paths
    assert 'triage_queue_length{urgency="acute"} 1.0' in text
    assert 'triage_queue_length{urgency="low"}' in text
    assert 'triage_predictions_total{head="urgency",label="acute"} 2.0' in text
    assert 'triage_predictions_total{head="role",label=' in text
    assert "triage_model_info{" in text


def test_readyz_reports_a_missing_database(sclient):
    assert sclient.get("/readyz").status_code == 200
    runtime = sclient.app.state.runtime
    runtime.db.ping = lambda: False
    r = sclient.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"


def test_migrations_match_the_models(db_url):
    """Upgrade to head, compare with the SQLAlchemy models, downgrade to base and up again."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from api.db import migrate
    from api.db.models import Base
    from api.db.session import Database

    db = Database(db_url)
    try:
        from alembic.script import ScriptDirectory

        migrate.upgrade(db)
        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        assert migrate.current_revision(db) == head
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
        cfg = migrate.alembic_config()
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            conn.commit()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(db)
        assert {"chats", "chat_messages", "chat_events", "api_keys"} <= set(inspect(db.engine).get_table_names())
        assert migrate.current_revision(db) == head
    finally:
        db.dispose()


def test_sqlite_uses_wal(sqlite_url, make_client):
    make_client(sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_bad_database_url_is_a_clear_error():
    from api.db.session import Database, DatabaseConfigError

    for url in ("mysql://x@y/z", "postgresql+psycopg2://u@127.0.0.1/db", "not a url", "sqlite://"):
        with pytest.raises(DatabaseConfigError):
            Database(url)
    db = Database("postgresql://u@127.0.0.1:1/db")  # the plain scheme means psycopg 3
    assert db.engine.url.drivername == "postgresql+psycopg"
    db.dispose()


def test_fastapi_native_telemetry_is_off(sclient, monkeypatch):
    """FastAPI's own OpenTelemetry would record validation failures with their input (chat text) and
    export it when FASTAPI_OTEL_AUTO_CONFIGURE=true: the service switches it off, also then."""
    from api.app import create_app

    config = getattr(sclient.app, "_telemetry", None)
    if config is None:
        pytest.skip("this FastAPI has no native telemetry")
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    app = create_app(sclient.app.state.runtime.settings, runtime=sclient.app.state.runtime)
    for cfg in (config, app._telemetry):
        assert not any(cfg[k] for k in ("tracing", "metrics", "logs", "operation_spans", "auto_configure")), cfg
