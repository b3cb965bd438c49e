"""Errors with a clear message and the field they concern, and their JSON form.

Every error body has "detail" and "code"; errors about one input field also name it in "field"
(FastAPI's own 422 bodies name it in each item's "loc"). Error bodies never echo the input back.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.domain_errors import (ChatConflict, ChatNotFound, DomainError, GateRefused, ModelProcessesUnavailable,
                               ModelVersionConflict, ModelVersionInvalid, ModelVersionNotFound, NotClaimer)
from api.responses import ResponseInvalid

log = logging.getLogger("triage.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers

    def body(self) -> dict:
        body = {"detail": self.detail, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


# The HTTP status of each kind of service error (api/domain_errors.py), found along the class's
# MRO so a subclass maps like its parent; the body is the same {"detail", "code", "field"} as every
# ApiError, plus the error's extra fields.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    ChatNotFound: 404, NotClaimer: 403, ChatConflict: 409,
    ModelVersionNotFound: 404, ModelVersionConflict: 409, GateRefused: 409, ModelVersionInvalid: 422,
    ModelProcessesUnavailable: 503,
}


def from_domain(exc: DomainError) -> ApiError:
    status = next(DOMAIN_STATUS[kind] for kind in type(exc).__mro__ if kind in DOMAIN_STATUS)
    return DomainApiError(status, exc)


class DomainApiError(ApiError):
    def __init__(self, status: int, exc: DomainError):
        super().__init__(status, exc.code, exc.detail, field=exc.field)
        self.extra = exc.extra

    def body(self) -> dict:
        return {**super().body(), **self.extra}


HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _routes(routes):
    """Every route, also those of included routers (FastAPI wraps them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> str:
    """Every method of every route at this path: Starlette's 405 names only the first route's
    (GET and POST /v1/chats are two routes)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        if getattr(route, "methods", None) and getattr(route, "path_regex", None) and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def _clean(error: dict) -> dict:
    """A pydantic error without the rejected input (it may be chat text)."""
    out = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        safe = {k: v for k, v in ctx.items() if isinstance(v, (int, float, str, bool)) and k != "error"}
        if safe:
            out["ctx"] = safe
    return out


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError):
        error = from_domain(exc)
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(ResponseInvalid)
    async def _response_invalid(request: Request, exc: ResponseInvalid):
        # A bug of the service, not of the request: logged with where the body broke its model
        # (locations and error types; never the values, which may be chat text).
        route = getattr(request.scope.get("route"), "path_format", None) or "unmatched"
        log.error("invalid response of %s %s: %s", request.method, route, exc)
        return JSONResponse({"detail": "internal error", "code": "internal_error"}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        errors = [_clean(e) for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        loc = first["loc"]
        if first.get("type") == "json_invalid" or not loc:
            field = "body"
        else:
            field = ".".join(str(p) for p in loc[1:]) or ".".join(str(p) for p in loc)
        return JSONResponse({"detail": errors, "code": "validation_error", "field": field or None,
                             "message": f"{field or 'request'}: {first['msg']}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        # Starlette's own answers (unknown path, method not allowed) in the service's error format.
        code = HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(_request)
        return JSONResponse({"detail": str(exc.detail), "code": code}, status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(PoolTimeout)
    async def _db_busy(_request: Request, _exc: PoolTimeout):
        # Every pooled connection stayed busy for the pool timeout: overload, not a fault of the request.
        log.error("database busy: no pooled connection within the pool timeout")
        return JSONResponse({"detail": "the database is busy; try again", "code": "database_busy"},
                            status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(OperationalError)
    async def _db_unavailable(_request: Request, exc: OperationalError):
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
        return JSONResponse({"detail": "the database is unavailable; try again", "code": "database_unavailable"},
                            status_code=503, headers={"Retry-After": "2"})
