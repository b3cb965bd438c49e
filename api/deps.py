"""FastAPI dependencies: the started services as typed dependencies (`ChatServiceDep` and so on:
Annotated types a route declares as a parameter), and API-key authentication with roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.audit import AuditStore
from api.audit.writer import AuditWriter
from api.auth_gate import PRINCIPAL_SCOPE_KEY, invalid_key, unauthenticated
from api.chats.service import ChatService
from api.errors import ApiError
from api.model_versions.service import ModelRegistry
from api.predictions.service import Triager
from api.queue.service import QueueService
from api.runtime import Runtime, Services
from api.security import KeyStore, Principal

# Who may do what.
QUEUE = ("queue", "admin")                 # the chat platform: create, update, delete chats; triage
ADVISOR = ("advisor", "admin")             # read the queue, claim, release, close, override
CHAT_READ = ("queue", "advisor", "admin")  # read one chat
REVIEW = ("reviewer", "admin")             # audit records, reviews, export, stats; list model versions
ADMIN = ("admin",)                         # metrics; activate a model version

# The getters are `async` although they do not await: FastAPI runs a sync dependency in the thread
# pool, and each hop there and back costs more than the lookup itself.
bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


def services(request: Request) -> Services:
    return request.app.state.runtime.services


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_chat_service(request: Request) -> ChatService:
    return services(request).chats


async def get_queue_service(request: Request) -> QueueService:
    return services(request).queue


async def get_triager(request: Request) -> Triager:
    return services(request).triager


async def get_audit(request: Request) -> AuditStore:
    return services(request).audit


async def get_audit_writer(request: Request) -> AuditWriter:
    return services(request).audit_writer


async def get_registry(request: Request) -> ModelRegistry:
    return services(request).registry


async def get_keys(request: Request) -> KeyStore:
    return services(request).keys


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
QueueServiceDep = Annotated[QueueService, Depends(get_queue_service)]
TriagerDep = Annotated[Triager, Depends(get_triager)]
AuditDep = Annotated[AuditStore, Depends(get_audit)]
AuditWriterDep = Annotated[AuditWriter, Depends(get_audit_writer)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]


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
            principal = services(request).keys.authenticate(credentials.credentials)
            if principal is None:
                raise invalid_key()
        if principal.role not in roles:
            raise ApiError(403, "forbidden", f"the role '{principal.role}' may not do this; "
                                             f"allowed: {', '.join(roles)}")
        return principal

    check.__name__ = f"require_{'_'.join(roles)}"
    return check
