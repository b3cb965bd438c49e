"""FastAPI dependencies: the runtime, the chat service, and API-key authentication with roles."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth_gate import PRINCIPAL_SCOPE_KEY, invalid_key, unauthenticated
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
    """A dependency that checks the key's role (403); the key itself (401) is checked before the
    body is read, by api/auth_gate.py, and again here for a route outside its reach."""

    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        # Normally the key was checked before the body was read (api/auth_gate.py).
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
        if principal is None:
            if credentials is None:
                raise unauthenticated()
            principal = request.app.state.runtime.keys.authenticate(credentials.credentials)
            if principal is None:
                raise invalid_key()
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
