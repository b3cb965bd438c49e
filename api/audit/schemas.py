"""The audit domain's request and response bodies (records, reviews, statistics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from api.schemas import GuidanceRef, InputModel, Role, Urgency
from triage.labels import TOPICS
from triage.normalize import is_blank, normalize_text

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
