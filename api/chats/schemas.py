"""Request and response bodies of the chats (POST/GET /v1/chats...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, field_validator, model_validator

from api.schemas import (REASON_MAX, ChatId, GuidanceCard, InputModel, Prediction, ReceivedAt, Role,
                         TextInput, Urgency, person_name)
from triage.normalize import is_blank, normalize_text

# A chat addressed in a path: the platform's id, or "<platform id>~N" for the N-th conversation of a
# returning client (api/chats/summary.py conversation_id); "~" never occurs in a platform id.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(~[0-9a-f]{8})?(~[1-9][0-9]{0,8})?$"
ADVISOR_MAX = 100
Outcome = Literal["advice", "report", "referral", "no_help_needed", "disconnected", "other"]
ChatStatus = Literal["waiting", "claimed", "closed", "left"]


class ChatCreate(TextInput):
    chat_id: ChatId
    received_at: ReceivedAt | None = Field(
        None, description="when the chat started waiting (ISO-8601 with timezone); default: now. At most "
                          "TRIAGE_RECEIVED_AT_MAX_AGE_SECONDS (24 h) ago and TRIAGE_RECEIVED_AT_MAX_FUTURE_SECONDS "
                          "(5 min) ahead")


class MessageCreate(TextInput):
    received_at: ReceivedAt | None = Field(None, description="when the message was sent; default: now; the same "
                                                             "window as for a new chat")


class ClaimRequest(InputModel):
    advisor: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                                description="the name the advisor gives (self-declared): recorded beside the "
                                            "key's label; the claim itself belongs to the API key")

    @field_validator("advisor")
    @classmethod
    def _advisor(cls, v):
        return None if v is None else person_name(v)


class HeartbeatRequest(ClaimRequest):
    """The claiming advisor's page is still open (sent every 10 s). `advisor` is ignored: the key
    decides whose claim it is."""


class ReassignRequest(InputModel):
    advisor: str = Field(min_length=1, max_length=ADVISOR_MAX,
                         description="the advisor key that takes over: its key id (key-...) or its label")
    name: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                             description="the colleague's name, for a key several advisors share (self-declared)")

    @field_validator("advisor", "name")
    @classmethod
    def _names(cls, v):
        return None if v is None else person_name(v)


class ReleaseRequest(InputModel):
    advisor: str | None = Field(None, min_length=1, max_length=ADVISOR_MAX,
                                description="accepted and ignored: the key decides whose claim it is")

    @field_validator("advisor")
    @classmethod
    def _advisor(cls, v):
        return None if v is None else person_name(v)


class CloseRequest(ReleaseRequest):
    outcome: Outcome = Field(description="how the chat ended")


class OverrideRequest(InputModel):
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
        return None if v is None else person_name(v)

    @model_validator(mode="after")
    def _something(self):
        if self.urgency is None and self.role is None and self.minor is None:
            raise ValueError("give at least one of urgency, role, minor")
        return self


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
