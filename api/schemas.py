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


# --- audit and reviews ----------------------------------------------------------------------
# The audit domain's bodies stay here while api/audit/ is reorganised (its routes:
# api/routers/audit.py).

NOTE_MAX = 1000
Topic = Literal[TOPICS]  # type: ignore[valid-type]


class CorrectedLabels(InputModel):
    role: Role | None = Field(None, description="the right role, when role_ok is false")
    minor: StrictBool | None = Field(None, description="the right value, when minor_ok is false")
    urgency: Urgency | None = Field(None, description="the right urgency, when urgency_ok is false")
    topics: list[Topic] | None = Field(None, max_length=len(TOPICS),
                                       description="the complete right set of topics (omit: the model's topics are right)")

    @field_validator("topics")
    @classmethod
    def _unique(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("lists a topic twice")
        return v


class ReviewRequest(InputModel):
    """A reviewer's verdict on one audit record, head by head."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"role_ok": True, "minor_ok": True, "urgency_ok": False, "corrected": {"urgency": "acute"},
         "note": "dreiging is nu"}]})

    role_ok: StrictBool = Field(description="the model's role is right")
    minor_ok: StrictBool = Field(description="the model's minor is right")
    urgency_ok: StrictBool = Field(description="the model's urgency is right")
    corrected: CorrectedLabels | None = Field(None, description="the right labels for the heads marked not ok "
                                                                "(required for those), and optionally topics")
    note: str | None = Field(None, max_length=NOTE_MAX, description="free text; redacted before it is stored")

    @field_validator("note")
    @classmethod
    def _note(cls, v):
        if v is None:
            return None
        v = normalize_text(v).strip()
        return None if is_blank(v) else v


class AuditRecordSummary(BaseModel):
    id: int
    created_at: datetime
    source: Literal["triage", "chat", "message"]
    request_key: str | None = Field(description="POST /v1/triage: the X-Audit-Record-Key it returned")
    chat_id: str | None
    model_version: str
    spacy_pipeline: str
    role: Role
    minor: bool
    urgency: Urgency
    topics: list[str]
    top_scores: dict[str, float]
    needs_review: bool
    review_reasons: list[str]
    low_confidence: bool
    overridden: bool
    review_count: int
    gold_resolved: bool
    preview: str = Field(description="start of the redacted text")


class AuditPage(BaseModel):
    items: list[AuditRecordSummary]
    count: int
    total: int = Field(description="records matching the filters")
    limit: int
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class ReviewOut(BaseModel):
    reviewer: str
    reviewer_name: str | None
    created_at: datetime
    updated_at: datetime
    role_ok: bool
    minor_ok: bool
    urgency_ok: bool
    topics_ok: bool
    labels: dict[str, Any]
    note: str | None


class GoldOut(BaseModel):
    role: Role | None
    minor: bool | None
    urgency: Urgency | None
    topics: list[str] | None
    resolved: bool
    reviews: int
    votes: dict[str, dict[str, int]]
    unresolved: list[str] = Field(description="heads whose reviews tie (the record needs another review)")
    tie_broken: list[str] = Field(default_factory=list,
                                  description="heads whose reviews tie but resolve by rule (urgency: the more urgent "
                                              "of the tied labels)")


class AuditRecordDetail(AuditRecordSummary):
    text: str = Field(description="the redacted text")
    text_chars: int
    text_truncated: bool
    redactions: dict[str, int]
    raw_text_stored: bool
    message_count: int | None
    prediction: dict[str, Any] = Field(description="the model's output, redacted")
    explanation: dict[str, Any] | None
    guidance: list[GuidanceRef]
    effective: dict[str, Any] | None
    overrides: list[dict[str, Any]]
    reviews: list[ReviewOut] = Field(description="empty while reviews_hidden")
    gold: GoldOut | None = Field(description="null while reviews_hidden")
    reviews_hidden: bool = Field(False, description="true for a reviewer who has not reviewed this record yet: the "
                                                    "other reviewers' reviews and the gold labels are left out")


class UnderTriage(BaseModel):
    records: int = Field(description="reviewed records with a resolved (gold) urgency")
    under: int = Field(description="of those, records whose reviewed urgency is more urgent than the model's")
    rate: float | None = Field(description="under / records; null without reviewed records")


class AcuteFigures(BaseModel):
    records: int = Field(description="reviewed records with a resolved (gold) urgency")
    reviewed_acute: int = Field(description="records the reviewers call acute")
    model_acute: int = Field(description="records the model called acute")
    both: int = Field(description="records both call acute")
    recall: float | None = Field(description="both / reviewed_acute: the share of acute chats the model called acute")
    precision: float | None = Field(description="both / model_acute: the share of the model's acute calls that are acute")


class ConfusionMatrix(BaseModel):
    labels: list[str] = Field(description="the head's labels, in order (minor: \"true\", \"false\")")
    rows: Literal["reviewed"] = "reviewed"
    columns: Literal["model"] = "model"
    matrix: list[list[int]] = Field(description="matrix[i][j]: records with reviewed label labels[i] and model "
                                                "label labels[j]")
    n: int = Field(description="records with a reviewed label for the head")


class AuditStats(BaseModel):
    """GET /v1/audit/stats (docs/api.md). The fields before under_triage are loosely typed here;
    their shape is described in docs/api.md."""

    filters: dict[str, Any]
    records: int
    needs_review: dict[str, Any]
    low_confidence: dict[str, Any]
    overrides: dict[str, Any]
    reviews: dict[str, Any]
    weeks: list[dict[str, Any]]
    accuracy: dict[str, dict[str, Any]]
    agreement: dict[str, dict[str, Any]]
    under_triage: UnderTriage
    acute: AcuteFigures
    confusion: dict[str, dict[Literal["urgency", "role", "minor"], ConfusionMatrix]] = Field(
        description="per model version, per head: model label against reviewed label")
