"""What the domains' request and response bodies share (pydantic): ids, labels, client text, the
base of every request body, the published prediction contract, guidance cards, and the error body
of every 4xx and 5xx answer. Each domain's own bodies are in its schemas.py (api/chats/,
api/queue/, api/predictions/, api/model_versions/). Requests are validated at the boundary; the
limits are part of the API contract (see the field descriptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool,
                      field_validator)

from api.time_window import FILTER_MAX, FILTER_MIN, check_filter_time, check_received_at
from triage.labels import MAX_TEXT_CHARS, ROLES, TOPICS, URGENCIES
from triage.normalize import is_blank, normalize_text
from triage.prediction import Prediction, RedFlag  # noqa: F401  (the core's contract, published here)

CHAT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
CHAT_ID_MAX = 64
REASON_MAX = 500

Urgency = Literal["acute", "high", "normal", "low"]
Role = Literal["victim", "bystander", "perpetrator", "professional", "unknown"]

assert set(Urgency.__args__) == set(URGENCIES) and set(Role.__args__) == set(ROLES)  # noqa: S101

ChatId = Annotated[str, Field(min_length=1, max_length=CHAT_ID_MAX, pattern=CHAT_ID_PATTERN,
                              description="the chat platform's id: letters, digits, . _ : - (max 64)",
                              examples=["chat-2025-000123"])]
# Largest record id accepted in a path or cursor: ids are INTEGER columns, 32-bit on PostgreSQL
# (a larger number there is a database error, a 500, not "not found").
MAX_RECORD_ID = 2**31 - 1


# The limits apply to the text as sent (what the schema says); then it is normalised
# (triage/normalize.py), and the normal form is what is checked for visible characters, stored and triaged.
ClientText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS,
                                  description=f"client text, at most {MAX_TEXT_CHARS} characters; normalised "
                                              "(Unicode NFC; control and invisible format characters removed, "
                                              "except newlines and tabs) before it is stored and triaged; it "
                                              "must contain a visible character"),
                       AfterValidator(normalize_text)]
ReceivedAt = Annotated[AwareDatetime, AfterValidator(check_received_at)]
FilterTime = Annotated[datetime, AfterValidator(check_filter_time)]
FILTER_RANGE = f"between {FILTER_MIN:%Y-%m-%d} and {FILTER_MAX:%Y-%m-%d}"


def person_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


class InputModel(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class TextInput(InputModel):
    text: ClientText

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("must contain a visible character (a letter, digit, punctuation mark or emoji)")
        return value



class GuidanceCard(BaseModel):
    id: str
    title: str
    body: str
    source: str
    reason: str = Field(description="why this card was chosen for this chat (Dutch)")


class GuidanceRef(BaseModel):
    id: str
    title: str
    reason: str


class TriageResponse(Prediction):
    guidance: list[GuidanceCard]


class ValidationIssue(BaseModel):
    """One problem of a request that failed validation (the rejected value is never echoed)."""

    loc: list[str | int] = Field(description="where: [\"body\" | \"query\" | \"path\" | \"header\", field, ...]")
    msg: str
    type: str
    ctx: dict[str, int | float | str | bool] | None = Field(None, description="the limit that was not met, if any")


class ErrorOut(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    detail: str | list[ValidationIssue] = Field(
        description="what is wrong: a sentence; for code `validation_error` (422) one item per problem")
    code: str = Field(description="a stable, machine-readable reason, e.g. validation_error, chat_not_found")
    field: str | None = Field(None, description="the input field concerned, when there is one")
    message: str | None = Field(None, description="code `validation_error`: the first problem as a sentence")
