"""Errors of the services in their own terms; the services know no HTTP. api/errors.py maps each
kind to its status and the service's error body ({"detail", "code", "field"}) in one place.

Chats (api/chats/): a chat that does not exist, an action its state does not allow, an advisor
acting on another key's claim. Model versions (api/model_versions/): a version that does not
exist, an activation that cannot run now, a version that cannot be loaded or served, a version
the quality gate refuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An action a service cannot do; `code` is the stable error code, `field` the input it
    concerns, `extra` further fields of the error body."""

    def __init__(self, code: str, detail: str, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class ChatError(DomainError):
    """An action on a chat that cannot be done (the chat id is the field of every one so far)."""

    def __init__(self, code: str, detail: str, field: str | None = "chat_id"):
        super().__init__(code, detail, field)


class ChatNotFound(ChatError):
    def __init__(self, chat_id: str):
        super().__init__("chat_not_found", f"no chat with chat_id '{chat_id}'")


class ChatConflict(ChatError):
    """The chat's state does not allow the action (already claimed, closed, changed meanwhile, ...)."""


class NotClaimer(ChatError):
    """The chat is claimed by another key, and the actor is not an admin."""

    def __init__(self, detail: str):
        super().__init__("not_claimer", detail)


class ModelVersionError(DomainError):
    """An action on a model version that cannot be done (the version is the field unless said)."""

    def __init__(self, code: str, detail: str, field: str | None = "version", extra: dict[str, Any] | None = None):
        super().__init__(code, detail, field, extra)


class ModelVersionNotFound(ModelVersionError):
    def __init__(self, version: str):
        super().__init__("model_not_found", f"no model version '{version}' in the model directory")


class ModelVersionConflict(ModelVersionError):
    """The activation cannot run now (another runs; several worker processes)."""


class ModelVersionInvalid(ModelVersionError):
    """The request or the version itself is unusable (no reason for a forced activation; the
    version cannot be loaded; the gate could not compare it)."""


class ModelProcessesUnavailable(ModelVersionError):
    """The model processes could not load the version: the server lacks the capacity for now."""


class GateRefused(ModelVersionError):
    """The quality gate refused the version; the body carries its failures and comparison."""

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__("quality_gate_failed", message, extra={
            "failures": summary.get("failures", []), "comparison": summary,
            "hint": "activate anyway with {\"force\": true, \"reason\": \"...\"} (recorded in the activation log)"})
        self.summary = summary
