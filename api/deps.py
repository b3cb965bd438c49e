"""FastAPI dependencies: the runtime, the chat service, and API-key authentication with roles."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.security import Principal

# Who may do what.
QUEUE = ("queue", "admin")                 # the chat platform: create, update, delete chats; triage
ADVISOR = ("advisor", "admin")             # read the queue, claim, release, close, override
CHAT_READ = ("queue", "advisor", "admin")  # read one chat
REVIEW = ("reviewer", "admin")             # audit records, reviews, export, stats; list model versions
ADMIN = ("admin",)                         # metrics; activate a model version

# The getters are `async` although they do not await: FastAPI runs a sync dependency in the thread
# pool, and each hop there and back costs more than the lookup itself.
bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def get_runtime(request: Request):
    return request.app.state.runtime


async def get_service(request: Request):
    return request.app.state.runtime.service


async def get_triager(request: Request):
    return request.app.state.runtime.triager


async def get_audit(request: Request):
    return request.app.state.runtime.service.audit


async def get_audit_writer(request: Request):
    return request.app.state.runtime.audit_writer


async def get_registry(request: Request):
    return request.app.state.registry


def require(*roles: str):
    """A dependency that authenticates the bearer key (401) and checks its role (403)."""

    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if credentials is None:
            raise ApiError(401, "unauthenticated", "an API key is required: send 'Authorization: Bearer <key>'",
                           field="Authorization", headers={"WWW-Authenticate": "Bearer"})
        principal = request.app.state.runtime.keys.authenticate(credentials.credentials)
        if principal is None:
            raise ApiError(401, "invalid_key", "the API key is not valid", field="Authorization",
                           headers={"WWW-Authenticate": "Bearer"})
        if principal.role not in roles:
            raise ApiError(403, "forbidden", f"the role '{principal.role}' may not do this; "
                                             f"allowed: {', '.join(roles)}")
        return principal

    check.__name__ = f"require_{'_'.join(roles)}"
    return check


def json_response(content: Any, status_code: int = 200) -> Response:
    """A JSON response without a second validation pass (the content is built from validated data)."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status_code, media_type="application/json")
