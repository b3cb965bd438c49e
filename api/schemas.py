"""Request and response bodies (pydantic). Requests are validated here, at the boundary; the
limits are part of the API contract (see the field descriptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool,
                      field_validator, model_validator)

from api.time_window import FILTER_MAX, FILTER_MIN, check_filter_time, check_received_at
from triage.labels import MAX_TEXT_CHARS, ROLES, TOPICS, URGENCIES
from triage.normalize import is_blank, normalize_text
from triage.prediction import Prediction, RedFlag  # noqa: F401  (the core's contract, reused)

CHAT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
CHAT_ID_MAX = 64
# A chat addressed in a path: the platform's id, or "<platform id>~N" for the N-th conversation of a
# returning client (api/chats.py conversation_id); "~" never occurs in a platform id.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(~[0-9a-f]{8})?(~[1-9][0-9]{0,8})?$"
ADVISOR_MAX = 100
REASON_MAX = 500

Urgency = Literal["acute", "high", "normal", "low"]
Role = Literal["victim", "bystander", "perpetrator", "professional", "unknown"]
Outcome = Literal["advice", "report", "referral", "no_help_needed", "disconnected", "other"]
ChatStatus = Literal["waiting", "claimed", "closed", "left"]

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


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class _TextIn(_In):
    text: ClientText

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("must contain a visible character (a letter, digit, punctuation mark or emoji)")
        return value


class TriageRequest(_TextIn):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "hoi ik ben 14 en mijn vader slaat mij"}]})


class ChatCreate(_TextIn):
    chat_id: ChatId
    received_at: ReceivedAt | None = Field(
        None, description="when the chat started waiting (ISO-8601 with timezone); default: now. At most "
                          "TRIAGE_RECEIVED_AT_MAX_AGE_SECONDS (24 h) ago and TRIAGE_RECEIVED_AT_MAX_FUTURE_SECONDS "
                          "(5 min) ahead")


class MessageCreate(_TextIn):
    received_at: ReceivedAt | None = Field(None, description="when the message was sent; default: now; the same "
                                                             "window as for a new chat")


class ClaimRequest(_In):
    advisor: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                                description="the name the advisor gives (self-declared): recorded beside the "
                                            "key's label; the claim itself belongs to the API key")

    @field_validator("advisor")
    @classmethod
    def _advisor(cls, v):
        return None if v is None else _name(v)


class HeartbeatRequest(ClaimRequest):
    """The claiming advisor's page is still open (sent every 10 s). `advisor` is ignored: the key
    decides whose claim it is."""


class ReassignRequest(_In):
    advisor: str = Field(min_length=1, max_length=ADVISOR_MAX,
                         description="the advisor key that takes over: its key id (key-...) or its label")
    name: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                             description="the colleague's name, for a key several advisors share (self-declared)")

    @field_validator("advisor", "name")
    @classmethod
    def _names(cls, v):
        return None if v is None else _name(v)


class ReleaseRequest(_In):
    advisor: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                                description="accepted and ignored: the key decides whose claim it is")

    @field_validator("advisor")
    @classmethod
    def _advisor(cls, v):
        return None if v is None else _name(v)


class CloseRequest(ReleaseRequest):
    outcome: Outcome = Field(description="how the chat ended")


class OverrideRequest(_In):
    urgency: Urgency | None = None
    role: Role | None = None
    minor: StrictBool | None = None
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="why the advisor changes the triage")
    advisor: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                                description="the advisor's name (self-declared), recorded beside the key's label")

    @field_validator("reason")
    @classmethod
    def _reason(cls, v):
        v = normalize_text(v).strip()
        if is_blank(v):
            raise ValueError("must contain a visible character")
        return v

    @field_validator("advisor")
    @classmethod
    def _advisor(cls, v):
        return None if v is None else _name(v)

    @model_validator(mode="after")
    def _something(self):
        if self.urgency is None and self.role is None and self.minor is None:
            raise ValueError("give at least one of urgency, role, minor")
        return self


# --- responses -------------------------------------------------------------------------------

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


class Override(BaseModel):
    fields: dict[str, Any] = Field(description="the fields the advisor set")
    reason: str
    advisor: str | None = Field(description="the label of the key that made the override")
    name: str | None = Field(None, description="the name the advisor gave (self-declared)")
    at: datetime


class ChatAlert(BaseModel):
    at: datetime
    kind: str = Field(description="override_lapsed")
    text_nl: str


class ClaimReturned(BaseModel):
    at: datetime
    from_: str | None = Field(alias="from", description="the advisor whose claim lapsed (key label, with the "
                                                        "self-declared name)")
    text_nl: str


class EffectiveTriage(BaseModel):
    """What the queue uses: the model's triage with an advisor's override on top."""

    urgency: Urgency
    role: Role
    minor: bool
    topics: list[str]
    needs_review: bool
    overridden: list[str] = Field(description="fields set by an advisor")
    red_flags: list[dict[str, Any]]
    summary_nl: str
    model_version: str
    severity: float = Field(0.0, description="orders acute chats among themselves, higher first (triage/severity.py)")
    severity_nl: str = Field("", description="why the chat is this severe (Dutch)")
    alert: ChatAlert | None = Field(None, description="new danger arrived over an advisor's override, which lapsed; "
                                                      "stays until an advisor overrides again")
    returned: ClaimReturned | None = Field(None, description="the chat came back to the queue because its claim "
                                                             "lapsed; cleared when it is claimed again")


class ChatMessageOut(BaseModel):
    seq: int
    received_at: datetime
    text: str | None = Field(description="the client's message; null once the chat was closed or the client left")


class PreviousConversation(BaseModel):
    """An earlier conversation of a returning client, as its advisor sees it ("eerder contact")."""

    chat_id: str
    conversation: int
    status: ChatStatus
    received_at: datetime
    closed_at: datetime | None
    outcome: str | None
    message_count: int
    claimed_by: str | None
    claimed_name: str | None
    triage: dict[str, Any] = Field(description="urgency, role, minor, topics, overridden, summary_nl when it ended")


class ChatOut(BaseModel):
    chat_id: str
    status: ChatStatus
    received_at: datetime
    waiting_seconds: float | None = Field(description="seconds waited so far (waiting chats)")
    position: int | None = Field(description="1-based queue position (waiting chats)")
    priority: float | None
    reason_nl: str | None = Field(description="why the chat stands where it stands (a Dutch sentence)")
    reason_detail_nl: str | None = Field(None, description="the numbers behind reason_nl (Dutch)")
    message_count: int
    messages: list[ChatMessageOut] = Field(description="every client message in order")
    triage: EffectiveTriage
    prediction: Prediction
    override: Override | None
    guidance: list[GuidanceCard]
    claimed_by: str | None = Field(description="the label of the API key that claimed the chat")
    claimed_key: str | None = Field(None, description="the id of that key (as in GET /v1/me): only it, or an "
                                                      "admin, may keep, release, override or close the chat")
    claimed_name: str | None = Field(None, description="the name the advisor gave when claiming (self-declared)")
    claimed_at: datetime | None
    last_seen_at: datetime | None = Field(None, description="last sign of life of the claiming advisor's page")
    platform_chat_id: str = Field(description="the chat platform's id; the same for every conversation of a "
                                              "returning client")
    conversation: int = Field(1, description="1 for the first conversation of this platform id, 2 when the "
                                             "client came back after it ended, ...")
    previous_chat_id: str | None = Field(None, description="the conversation before this one")
    next_chat_id: str | None = Field(None, description="the conversation after this one (the client came back)")
    previous: list[PreviousConversation] = Field(
        default_factory=list, description="earlier conversations of this client, newest first (at most 5)")
    claim_timeout_seconds: float = Field(description="a claim with no heartbeat for this long goes back to the "
                                                     "queue (TRIAGE_CLAIM_TIMEOUT_SECONDS)")
    closed_at: datetime | None
    outcome: str | None
    updated_at: datetime
    text_truncated: bool = Field(False, description="the combined client text was longer than the model's "
                                                    "limit; the triage used its most recent part")


class ChatEventOut(BaseModel):
    at: datetime
    kind: str
    actor: str | None
    data: dict[str, Any]


class ChatDetail(ChatOut):
    history: list[ChatEventOut]


class QueueEntry(BaseModel):
    chat_id: str
    position: int
    priority: float
    waiting_seconds: float
    reason_nl: str
    reason_detail_nl: str
    received_at: datetime
    message_count: int
    preview: str | None = Field(description="the start of the first message (for advisors only)")
    previous_chat_id: str | None = Field(None, description="a returning client: their earlier conversation")
    triage: EffectiveTriage
    guidance: list[GuidanceRef]


class ChatListEntry(BaseModel):
    chat_id: str
    status: ChatStatus
    claimed_by: str | None
    claimed_key: str | None = None
    claimed_name: str | None = None
    conversation: int = 1
    previous_chat_id: str | None = None
    claimed_at: datetime | None
    last_seen_at: datetime | None
    received_at: datetime
    message_count: int
    preview: str | None
    triage: EffectiveTriage


class ChatList(BaseModel):
    items: list[ChatListEntry]
    count: int


class QueueOut(BaseModel):
    items: list[QueueEntry]
    count: int
    by_urgency: dict[str, int]
    generated_at: datetime


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


# --- audit, reviews and model versions --------------------------------------------------------

NOTE_MAX = 1000
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Topic = Literal[TOPICS]  # type: ignore[valid-type]


class CorrectedLabels(_In):
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


class ReviewRequest(_In):
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


class ActivateRequest(_In):
    force: StrictBool = Field(False, description="activate even if the quality gate fails (needs a reason)")
    reason: str | None = Field(None, max_length=REASON_MAX, description="why; required with force (recorded)")

    @field_validator("reason")
    @classmethod
    def _reason(cls, v):
        if v is None:
            return None
        return v.strip() or None
