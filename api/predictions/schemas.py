"""The request body of POST /v1/triage; its answer is the published TriageResponse (api/schemas.py:
the core's Prediction with the guidance cards, shared with the chats and the audit records)."""

from __future__ import annotations

from pydantic import ConfigDict

from api.schemas import TextInput, TriageResponse

__all__ = ["TriageRequest", "TriageResponse"]


class TriageRequest(TextInput):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "hoi ik ben 14 en mijn vader slaat mij"}]})
