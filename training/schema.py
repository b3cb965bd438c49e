"""Validation of labelled JSONL: every line is checked before anything is trained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from triage.labels import MAX_TEXT_CHARS, ROLES, TOPICS, URGENCIES

Role = Literal[ROLES]  # type: ignore[valid-type]
Urgency = Literal[URGENCIES]  # type: ignore[valid-type]
Topic = Literal[TOPICS]  # type: ignore[valid-type]


class LabelledOpener(BaseModel):
    """One training example: an opener and its labels (see docs/annotation-guide.md)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    role: Role
    minor: StrictBool
    urgency: Urgency
    topics: list[Topic] = Field(default_factory=list)
    id: str | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must contain more than white space")
        return v

    @field_validator("topics")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("lists a topic twice")
        return v


@dataclass(frozen=True)
class LineError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: field '{self.field}': {self.message}"


class DataError(ValueError):
    """Raised with every problem found in the files; nothing is trained on bad data."""

    def __init__(self, errors: list[LineError]):
        self.errors = errors
        shown = "\n".join(f"  {e}" for e in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{len(errors)} problem(s) in the training data:\n{shown}{more}")


def _explain(err: dict) -> tuple[str, str]:
    loc = ".".join(str(p) for p in err["loc"]) or "(line)"
    kind = err["type"]
    if kind == "missing":
        return loc, "is required"
    if kind == "literal_error":
        return loc, f"{err['msg'].lower()} (got {json.dumps(err.get('input'), ensure_ascii=False)})"
    if kind == "bool_type":
        return loc, f"must be true or false (got {json.dumps(err.get('input'), ensure_ascii=False)})"
    if kind == "string_too_long":
        return loc, f"is {len(err.get('input', ''))} characters; the limit is {MAX_TEXT_CHARS}"
    return loc, err["msg"]


def read_jsonl(path: Path) -> Iterator[tuple[int, object | None, str | None]]:
    """(line number, parsed object or None, JSON error or None) for every non-blank line."""
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"


def load_labelled(paths: list[Path]) -> list[LabelledOpener]:
    """Every line of every file, validated; raises DataError listing all problems."""
    records: list[LabelledOpener] = []
    errors: list[LineError] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            errors.append(LineError(str(path), 0, "(file)", "does not exist"))
            continue
        for number, obj, json_error in read_jsonl(path):
            if json_error:
                errors.append(LineError(str(path), number, "(line)", json_error))
                continue
            if not isinstance(obj, dict):
                errors.append(LineError(str(path), number, "(line)", "must be a JSON object"))
                continue
            try:
                record = LabelledOpener.model_validate(obj)
            except ValidationError as exc:
                for err in exc.errors():
                    field, message = _explain(err)
                    errors.append(LineError(str(path), number, field, message))
                continue
            record.__pydantic_extra__ = dict(record.__pydantic_extra__ or {}, source=path.stem, line=number)
            records.append(record)
    if errors:
        raise DataError(errors)
    if not records:
        raise DataError([LineError(", ".join(map(str, paths)), 0, "(file)", "contains no examples")])
    return records
