"""JSON answers validated against their route's response model, at the cost of pydantic-core.

A route declares `response_model=ChatOut` for the document and answers with `CHAT_OUT(content)`,
where `CHAT_OUT = JsonAnswer(ChatOut)` is built once per model: the content is validated by a
cached TypeAdapter (`validate_python`) and serialised from the validated value (`dump_json`), so
the body is what the model says, as FastAPI's own response_model would make it, for tens of
microseconds instead of FastAPI's jsonable_encoder pass. GET /v1/queue splices stored JSON
instead (api/queue/view.py): it validates each chat's part once per chat version and the parts
that change per call on every call. A body that does not match its model is a bug of the service: it raises ResponseInvalid, which api/errors.py logs (where and which check
failed, never the values: they may be chat text) and answers with a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError


class ResponseInvalid(Exception):
    """An answer does not match its response model; the message holds locations and error types
    only (pydantic's own message would quote the values)."""

    def __init__(self, model: str, problems: str):
        super().__init__(f"the answer does not match {model}: {problems}")
        self.model = model
        self.problems = problems


def _problems(exc: ValidationError, limit: int = 5) -> str:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    shown = [f"{'.'.join(str(part) for part in e['loc']) or '(body)'}: {e['type']}" for e in errors[:limit]]
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(shown) + more


class JsonAnswer:
    """The JSON answer of one response model (build once per model, at import)."""

    def __init__(self, model: Any):
        self.adapter = TypeAdapter(model)
        self.name = getattr(model, "__name__", None) or str(model)

    def validate(self, content: Any) -> Any:
        try:
            return self.adapter.validate_python(content)
        except ValidationError as exc:
            raise ResponseInvalid(self.name, _problems(exc)) from None

    def __call__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = self.adapter.dump_json(self.validate(content), by_alias=True)
        return Response(body, status_code=status_code, headers=headers, media_type="application/json")

    def problem_of_json(self, body: bytes) -> str | None:
        """Why serialised JSON does not match the model (locations and error types), or None."""
        try:
            self.adapter.validate_json(body)
        except ValidationError as exc:
            return _problems(exc)
        return None
