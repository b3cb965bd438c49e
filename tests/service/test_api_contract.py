"""The answers match the contract (issue 13, item 13): schemathesis against a real server (SQLite),
every phase (examples, coverage, fuzzing, stateful along the document's links), every check but
positive_data_acceptance and use_after_free (why: benchmarks/schemathesis_run.py), on a small
budget; no 5xx and no violation. The large run (20,000 requests) is `benchmarks/schemathesis_run.py`."""

from __future__ import annotations

import importlib.util

import httpx
import pytest

from service.helpers import KEYS, ROOT, server_env

# The runner is shared with the large run; benchmarks/ is a directory of scripts, not on sys.path.
_spec = importlib.util.spec_from_file_location("schemathesis_run", ROOT / "benchmarks" / "schemathesis_run.py")
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)
run_schemathesis = _runner.run_schemathesis

pytestmark = pytest.mark.slow
ADMIN = KEYS["admin"]


@pytest.fixture
def server(servers, tmp_path):
    return servers(server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                              TRIAGE_MODEL_PROCESSES="0", TRIAGE_LOG_LEVEL="warning"), "contract")


def test_error_answers_are_documented(server):
    """The document itself: the project's error body for every 4xx on every operation, and links."""
    doc = httpx.get(server.url + "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and schemas["ErrorOut"]["properties"]["detail"]["anyOf"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            if op.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            if op.get("parameters") or "requestBody" in op:
                assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
            if method in ("post", "patch", "delete"):
                assert {"400", "408", "413"} <= codes, (method, path)
    assert "links" in doc["paths"]["/v1/chats"]["post"]["responses"]["201"]
    # a 405 names every method of the path (two routes share /v1/chats)
    r = httpx.put(server.url + "/v1/chats", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 405 and {"GET", "POST"} <= set(r.headers["allow"].replace(" ", "").split(","))
    assert r.json()["code"] == "method_not_allowed"


def test_schemathesis_finds_no_5xx_and_no_violation(server, tmp_path):
    result = run_schemathesis(server.url, ADMIN, tmp_path / "schemathesis", max_examples=20, workers=1, seed=13)
    summary = {k: result[k] for k in ("requests", "5xx", "violations", "failures", "errors", "test_cases")}
    assert result["requests"] > 500, summary
    assert result["5xx"] == 0 and result["violations"] == 0 and not result["errors"], (
        summary, open(result["output"]).read()[-6000:])
