"""Errors of the chat service (api/chats.py) in its own terms: a chat that does not exist, an
action its state does not allow, an advisor acting on another key's claim. The service knows no
HTTP; api/errors.py maps each kind to its status and the service's error body in one place."""

from __future__ import annotations


class ChatError(Exception):
    """An action on a chat that cannot be done; `code` is the stable error code, `field` the input
    it concerns (the chat id for every error of the chat service so far)."""

    def __init__(self, code: str, detail: str, field: str | None = "chat_id"):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field


class ChatNotFound(ChatError):
    def __init__(self, chat_id: str):
        super().__init__("chat_not_found", f"no chat with chat_id '{chat_id}'")


class ChatConflict(ChatError):
    """The chat's state does not allow the action (already claimed, closed, changed meanwhile, ...)."""


class NotClaimer(ChatError):
    """The chat is claimed by another key, and the actor is not an admin."""

    def __init__(self, detail: str):
        super().__init__("not_claimer", detail)
