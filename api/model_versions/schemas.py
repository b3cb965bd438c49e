"""Request bodies and path patterns of the model versions (/v1/models)."""

from __future__ import annotations

from pydantic import Field, StrictBool, field_validator

from api.schemas import REASON_MAX, InputModel

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class ActivateRequest(InputModel):
    force: StrictBool = Field(False, description="activate even if the quality gate fails (needs a reason)")
    reason: str | None = Field(None, max_length=REASON_MAX, description="why; required with force (recorded)")

    @field_validator("reason")
    @classmethod
    def _reason(cls, v):
        if v is None:
            return None
        return v.strip() or None
