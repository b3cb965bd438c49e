"""Validation of labelled JSONL: every line is checked before anything is trained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from triage.export_file import check_exports, is_end_line
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


class Message(BaseModel):
    """One chat message of a transcript."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: Literal["client", "advisor"] = Field(alias="from")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    at: datetime | None = None


class LabelledTranscript(BaseModel):
    """A labelled chat transcript; the labels describe its opener (docs/training-data.md)."""

    model_config = ConfigDict(extra="allow")

    messages: list[Message] = Field(min_length=1)
    role: Role
    minor: StrictBool
    urgency: Urgency
    topics: list[Topic] = Field(default_factory=list)
    id: str | None = None

    def opener(self, max_client_messages: int | None = None) -> str:
        """The client's text before the first advisor reply (at most max_client_messages of it)."""
        parts: list[str] = []
        for message in self.messages:
            if message.sender == "advisor":
                break
            parts.append(message.text.strip())
        if max_client_messages is not None:
            parts = parts[:max_client_messages]
        return "\n".join(p for p in parts if p)


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
    if kind == "datetime_from_date_parsing" or kind.startswith("datetime"):
        return loc, f"must be an ISO 8601 date-time (got {json.dumps(err.get('input'), ensure_ascii=False)})"
    if kind == "too_short" and loc == "messages":
        return loc, "must contain at least one message"
    if kind == "string_too_long":
        return loc, f"is {len(err.get('input', ''))} characters; the limit is {MAX_TEXT_CHARS}"
    return loc, err["msg"]


def read_jsonl(path: Path, raw: list[tuple[int, object, str]] | None = None
               ) -> Iterator[tuple[int, object | None, str | None]]:
    """(line number, parsed object or None, JSON error or None) for every non-blank line; with
    `raw`, (number, object, line text) of every parsed line is appended to it as well."""
    with open(path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if raw is not None:
                raw.append((number, obj, line))
            yield number, obj, None


def _from_transcript(obj: dict, max_client_messages: int | None) -> LabelledOpener:
    transcript = LabelledTranscript.model_validate(obj)
    text = transcript.opener(max_client_messages)
    if not text:
        raise ValueError("messages: there is no client text before the first advisor reply")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"messages: the opener is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    extra = {k: v for k, v in (transcript.__pydantic_extra__ or {}).items()}
    return LabelledOpener(text=text, role=transcript.role, minor=transcript.minor, urgency=transcript.urgency,
                          topics=transcript.topics, id=transcript.id, kind="transcript", **extra)


def load_labelled(paths: list[Path], max_client_messages: int | None = None) -> list[LabelledOpener]:
    """Every line of every file, validated; raises DataError listing all problems.

    A line is a labelled opener (`text`) or a labelled transcript (`messages`); for a transcript
    the opener is the client text before the first advisor reply, optionally only its first
    max_client_messages messages.
    """
    records: list[LabelledOpener] = []
    errors: list[LineError] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            errors.append(LineError(str(path), 0, "(file)", "does not exist"))
            continue
        parsed: list[tuple[int, object, str]] = []
        for number, obj, json_error in read_jsonl(path, parsed):
            if is_end_line(obj):
                continue  # an audit export's end line, checked below
            if json_error:
                errors.append(LineError(str(path), number, "(line)", json_error))
                continue
            if not isinstance(obj, dict):
                errors.append(LineError(str(path), number, "(line)", "must be a JSON object"))
                continue
            try:
                if "messages" in obj:
                    record = _from_transcript(obj, max_client_messages)
                else:
                    record = LabelledOpener.model_validate(obj)
            except ValidationError as exc:
                for err in exc.errors():
                    field, message = _explain(err)
                    errors.append(LineError(str(path), number, field, message))
                continue
            except ValueError as exc:
                field, _, message = str(exc).partition(": ")
                errors.append(LineError(str(path), number, field, message))
                continue
            extra = dict(record.__pydantic_extra__ or {})
            if "source" in extra:  # a file's own provenance field (e.g. where a text was published)
                extra["origin"] = extra.pop("source")
            record.__pydantic_extra__ = dict(extra, source=path.stem, line=number)
            records.append(record)
        errors += [LineError(str(path), number, "(export)", message) for number, message in check_exports(parsed)]
    if errors:
        raise DataError(errors)
    if not records:
        raise DataError([LineError(", ".join(map(str, paths)), 0, "(file)", "contains no examples")])
    return records
