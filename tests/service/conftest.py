"""Shared fixtures for the API tests.

The real model (spaCy + scikit-learn) and the real guidance cards are loaded once per session.
Database tests run against SQLite and PostgreSQL: `db_url` is parametrised over both. PostgreSQL
comes from TRIAGE_TEST_POSTGRES_URL (scripts/test.sh starts one with scripts/postgres.sh); each
test gets a database of its own. Without that variable the PostgreSQL cases are skipped, except
in CI (CI=true), where they fail.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    # Starlette suggests httpx2 for its TestClient; httpx works and is what the project depends on.
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated")

from service.helpers import Server, _fresh_postgres_database, make_settings, postgres_url_or_skip

@pytest.fixture(scope="session")
def model():
    from triage.artifacts import ArtifactError
    from triage.model import TriageModel
    from triage.nlp import PipelineError

    try:
        return TriageModel.load()
    except (ArtifactError, PipelineError) as exc:
        pytest.fail(f"the API tests need a trained model (run scripts/setup.sh or `triage train`): {exc}")


@pytest.fixture(scope="session")
def cards():
    from triage.guidance import load_cards

    return load_cards()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'triage.sqlite3'}"
        return
    url, drop = _fresh_postgres_database(postgres_url_or_skip())
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'db' / 'triage.sqlite3'}"


@pytest.fixture
def postgres_url():
    url, drop = _fresh_postgres_database(postgres_url_or_skip())
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def make_client(tmp_path, model, cards):
    """make_client(database_url, **settings) -> a started TestClient (closed after the test)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    clients = []

    def make(database_url: str, **overrides):
        settings = make_settings(tmp_path, database_url, **overrides)
        client = TestClient(create_app(settings, model=model, cards=cards), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client, db_url):
    return make_client(db_url)


@pytest.fixture
def servers(tmp_path):
    started: list[Server] = []

    def start(env: dict[str, str], name: str = "server") -> Server:
        server = Server(env, tmp_path / f"{name}-{len(started)}.log")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()



# --- a model registry of its own (model versions, activation): never the project's models/ ---

@pytest.fixture
def registry(tmp_path):
    """(root, version): a temporary TRIAGE_MODEL_DIR holding a copy of the active model, active."""
    from service.helpers import copy_active_model

    return copy_active_model(tmp_path / "models")


@pytest.fixture
def make_registry_client(tmp_path, cards, registry):
    """make_registry_client(database_url, **settings) -> a started TestClient whose model is loaded
    from the temporary registry (TRIAGE_MODEL_DIR), so model activation can be exercised."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from triage.model import TriageModel

    root, version = registry
    clients = []

    def make(database_url: str, **overrides):
        settings = make_settings(tmp_path, database_url, model_dir=root, **overrides)
        model = TriageModel.load(root / version, settings)
        client = TestClient(create_app(settings, model=model, cards=cards), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)
