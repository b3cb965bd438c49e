"""The prediction contract: what TriageModel.predict returns for one text, as typed models.

The API's schemas reuse these models (api/schemas.py), so the core, the CLI and the service share one
declared shape. Labels are held as the StrEnums of triage/labels.py (a StrEnum is a str, so they
serialise as before).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel

from triage.labels import Role, Topic, Urgency

# Validated as the strings the API has always documented (an inline enum for role and urgency, plain
# strings for topics and a flag's floor) and then held as the StrEnum. Annotating the fields with the
# StrEnums directly would publish each as an OpenAPI component of its own and drop the field titles:
# a different document for the same values.
RoleLabel = Annotated[Literal[tuple(r.value for r in Role)], AfterValidator(Role)]
UrgencyLabel = Annotated[Literal[tuple(u.value for u in Urgency)], AfterValidator(Urgency)]
TopicLabel = Annotated[str, AfterValidator(Topic)]
FloorLabel = Annotated[str, AfterValidator(Urgency)]  # the least urgency a red flag implies


class RedFlag(BaseModel):
    cue: str
    label_nl: str
    text: str
    start_char: int
    end_char: int
    when: str
    floor: FloorLabel | None


class Prediction(BaseModel):
    """Exactly what `triage predict` returns for one text."""

    role: RoleLabel
    minor: bool
    urgency: UrgencyLabel
    topics: list[TopicLabel]
    scores: dict[str, dict[str, float]]
    red_flags: list[RedFlag]
    needs_review: bool
    review_reasons: list[str]
    language: str
    explanation: dict[str, Any]
    model_version: str
    spacy_pipeline: str
