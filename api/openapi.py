"""The OpenAPI document tells the truth about errors: every error answer is documented, with the
body the service really sends (api.schemas.ErrorOut, built by api/errors.py).

FastAPI documents only what a route declares, plus a 422 in its own format (`HTTPValidationError`),
which is not the service's. Rather than repeat the same `responses=` in every router, the
document is completed once, here, from ERROR_RESPONSES and facts about each operation:

- 422 (validation_error, and the routes' own 422 codes): every operation with parameters or a body;
- 401 / 403: every operation that takes the API key (declares the bearer security scheme);
- 400 (an invalid Content-Length), 408 (the body did not arrive in time) and 413 (body too large):
  every method with a body (the middleware reads the body of POST, PUT, PATCH and DELETE);
- 404: every operation with a path parameter (unknown chat, record or model version);
- 503 (database_unavailable, audit_unavailable): every operation under /v1 (they use the database).

What a route declares itself (such as 409 and its description) is kept. Not listed per operation:
the connection-level 408 and 431 of api/slow_clients.py (headers too slow or too large), plain-text
answers sent before any route is known, as a proxy would send them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.schemas import ErrorOut

ERROR_SCHEMA_REF = "#/components/schemas/ErrorOut"
BODY_METHODS = frozenset({"post", "put", "patch", "delete"})

# The shared error responses (`responses=` form; status -> description).
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad request: an invalid Content-Length header (`bad_request`)"},
    401: {"model": ErrorOut, "description": "No API key or an unknown one (`unauthenticated`, `invalid_key`); "
                                            "`WWW-Authenticate: Bearer`"},
    403: {"model": ErrorOut, "description": "The key's role may not do this (`forbidden`)"},
    404: {"model": ErrorOut, "description": "Not found (`chat_not_found`, `record_not_found`, ...)"},
    408: {"model": ErrorOut, "description": "The body did not arrive within TRIAGE_BODY_TIMEOUT_SECONDS "
                                            "(`body_timeout`); the connection is closed"},
    413: {"model": ErrorOut, "description": "The body is larger than TRIAGE_MAX_BODY_BYTES (`body_too_large`)"},
    422: {"model": ErrorOut, "description": "Invalid input (`validation_error` with one `detail` item per problem, "
                                            "or a specific code); `field` names the first field concerned"},
    503: {"model": ErrorOut, "description": "The database (`database_unavailable`, `database_busy`) or the audit "
                                            "records (`audit_unavailable`) are unavailable; `Retry-After` says when "
                                            "to retry"},
}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_RESPONSES[status]["description"],
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}}}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = []
    params = operation.get("parameters") or []
    if params or "requestBody" in operation:
        statuses.append(422)
    if operation.get("security"):
        statuses += [401, 403]
    if method in BODY_METHODS:
        statuses += [400, 408, 413]
    if any(p.get("in") == "path" for p in params):
        statuses.append(404)
    if path.startswith("/v1/"):
        statuses.append(503)
    return statuses


# OpenAPI links: how the answer of one operation feeds the next (clients and stateful testing read them).
CHAT_ID = {"chat_id": "$response.body#/chat_id"}
LINKS: dict[tuple[str, str], tuple[tuple[str, ...], list[tuple[str, str, str, dict[str, str]]]]] = {
    ("/v1/chats", "post"): (("200", "201"), [
        (name, path, method, CHAT_ID) for name, path, method in (
            ("GetChat", "/v1/chats/{chat_id}", "get"), ("AddMessage", "/v1/chats/{chat_id}/messages", "post"),
            ("Claim", "/v1/chats/{chat_id}/claim", "post"), ("Heartbeat", "/v1/chats/{chat_id}/heartbeat", "post"),
            ("Release", "/v1/chats/{chat_id}/release", "post"), ("Close", "/v1/chats/{chat_id}/close", "post"),
            ("Override", "/v1/chats/{chat_id}/triage", "patch"), ("Reassign", "/v1/chats/{chat_id}/reassign", "post"),
            ("Leave", "/v1/chats/{chat_id}", "delete"))]),
    ("/v1/chats/{chat_id}/claim", "post"): (("200",), [
        ("Heartbeat", "/v1/chats/{chat_id}/heartbeat", "post", CHAT_ID),
        ("Close", "/v1/chats/{chat_id}/close", "post", CHAT_ID),
        ("Override", "/v1/chats/{chat_id}/triage", "patch", CHAT_ID)]),
    ("/v1/triage", "post"): (("200",), [
        ("FindAuditRecord", "/v1/audit/predictions", "get",
         {"request_key": "$response.header.X-Audit-Record-Key"})]),
    ("/v1/audit/predictions", "get"): (("200",), [
        ("GetRecord", "/v1/audit/predictions/{record_id}", "get", {"record_id": "$response.body#/items/0/id"}),
        ("Review", "/v1/audit/predictions/{record_id}/reviews", "post", {"record_id": "$response.body#/items/0/id"})]),
    ("/v1/audit/predictions/{record_id}/reviews", "post"): (("200", "201"), [
        ("GetRecord", "/v1/audit/predictions/{record_id}", "get", {"record_id": "$response.body#/id"})]),
}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for (path, method), (statuses, links) in LINKS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        for status in statuses:
            response = operation["responses"].get(status)
            if response is None:
                continue
            for name, target_path, target_method, parameters in links:
                target = paths.get(target_path, {}).get(target_method)
                if target is not None and "operationId" in target:
                    response.setdefault("links", {})[name] = {"operationId": target["operationId"],
                                                              "parameters": parameters}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses to every operation and replace FastAPI's 422 model by ErrorOut."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _statuses(path, method, operation):
                key = str(status)
                declared = responses.get(key)
                if declared is None or key == "422":
                    responses[key] = {**_error_response(status),
                                      **({"description": declared["description"]}
                                         if declared and status != 422 and declared.get("description") else {})}
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 model, now unused
        components.pop(name, None)
    _add_links(schema)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at app.openapi_url (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
