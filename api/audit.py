"""Audit records of served predictions, the reviewers' workflow, export, statistics and purge.

Every prediction the service serves (POST /v1/triage; the queue's triage of a new chat and its
re-triage on new client messages) is stored as an audit record with the REDACTED text
(triage.redact): person names, phone numbers, e-mail addresses, street addresses, postcodes, BSN,
IBAN, dates of birth, licence plates (and URLs) become typed placeholders such as [NAAM]. What the
prediction quotes from the text is redacted too: the red flags' `text` becomes the redacted slice
(with offsets into the redacted text), explanation features that match a redacted value are
replaced by its placeholder, and the Dutch summary is rebuilt from those. Advisors' override
reasons and reviewers' notes are free text and are redacted as well.

The raw text is stored only with TRIAGE_STORE_RAW_TEXT=true, in `audit_records.raw_text`, and
`triage purge` (purge() below) deletes it after TRIAGE_RAW_RETENTION_DAYS; it is never returned
by the API. Nothing here logs text.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.agreement import HEADS, agreement, resolve_gold
from api.db.models import AuditRecord, Review, utcnow
from api.db.session import Database
from api.errors import ApiError
from api.schemas import MAX_RECORD_ID
from triage.labels import MAX_TEXT_CHARS, ROLES, TOPICS, URGENCIES, URGENCY_RANK

log = logging.getLogger("triage.api")

LOW_CONFIDENCE = 0.6      # a record is low-confidence when its top role or urgency score is below this
MAX_PAGE = 200
PREVIEW_CHARS = 120
EXPORT_CHUNK = 500


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_week(value: datetime) -> str:
    year, week, _ = value.astimezone(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


# --- redaction ------------------------------------------------------------------------------------

def load_redaction() -> None:
    """Load the redaction engine once per process (several seconds), at start-up rather than on the
    first chat. The engine raises the root logger's level while it loads; that is set back."""
    from triage.redact import load

    root = logging.getLogger()
    level = root.level
    try:
        load()
    finally:
        root.setLevel(level)


def redact_text(text: str | None) -> str | None:
    """Free text (override reasons, review notes) with personal data replaced."""
    if text is None:
        return None
    from triage.redact import redact

    return redact(text).text


class _OffsetMap:
    """Maps character offsets in the raw text to offsets in the redacted text."""

    def __init__(self, raw: str, redacted: str, spans: list[tuple[str, int, int]]):
        self.pieces = []  # (raw start, raw end, redacted start, redacted end)
        shift = 0
        rebuilt, pos = [], 0
        for kind, start, end in sorted(spans, key=lambda s: s[1]):
            placeholder = f"[{kind}]"
            rebuilt += [raw[pos:start], placeholder]
            self.pieces.append((start, end, start + shift, start + shift + len(placeholder)))
            shift += len(placeholder) - (end - start)
            pos = end
        rebuilt.append(raw[pos:])
        self.valid = "".join(rebuilt) == redacted  # the redaction's contract, checked

    def start(self, offset: int) -> int:
        shift = 0
        for raw_start, raw_end, red_start, red_end in self.pieces:
            if offset < raw_start:
                break
            if offset < raw_end:
                return red_start
            shift = red_end - raw_end
        return offset + shift

    def end(self, offset: int) -> int:
        shift = 0
        for raw_start, raw_end, red_start, red_end in self.pieces:
            if offset <= raw_start:
                break
            if offset <= raw_end:
                return red_end
            shift = red_end - raw_end
        return offset + shift


def redact_prediction(text: str, prediction: dict, redaction=None) -> tuple[str, dict, dict[str, int]]:
    """(redacted text, the prediction with everything quoted from the text redacted, counts of
    placeholders per type). `redaction`: redact(text), when the caller has made it already."""
    from triage.explain import summary_nl
    from triage.redact import redact

    redaction = redaction if redaction is not None else redact(text)
    redacted = redaction.text
    spans = list(redaction.spans)
    counts = dict(Counter(kind for kind, _, _ in spans))
    offsets = _OffsetMap(text, redacted, spans)

    flags = []
    for flag in prediction.get("red_flags", []):
        flag = dict(flag)
        if offsets.valid and isinstance(flag.get("start_char"), int) and isinstance(flag.get("end_char"), int):
            start, end = offsets.start(flag["start_char"]), offsets.end(flag["end_char"])
            flag.update(text=redacted[start:end], start_char=start, end_char=end)
        else:
            flag.update(text=redact(str(flag.get("text", ""))).text, start_char=None, end_char=None)
        flags.append(flag)

    values = [(kind, text[start:end].lower()) for kind, start, end in spans]
    words = {w: kind for kind, value in values for w in re.findall(r"\w+", value)}
    explanation = dict(prediction.get("explanation", {}))
    for head, items in list(explanation.items()):
        if isinstance(items, list) and items and isinstance(items[0], dict) and "feature" in items[0]:
            explanation[head] = [_redact_feature(item, values, words) for item in items]
    out = {**prediction, "red_flags": flags, "explanation": explanation}
    try:
        explanation["summary_nl"] = summary_nl(out)
    except (KeyError, TypeError, ValueError):  # a prediction without the fields: redact the sentence
        explanation["summary_nl"] = redact(str(explanation.get("summary_nl", ""))).text
    return redacted, out, counts


def _redact_feature(item: dict, values: list[tuple[str, str]], words: dict[str, str]) -> dict:
    """A word, lemma or character n-gram feature that matches a redacted value would reveal it."""
    block, _, name = str(item.get("feature", "")).partition("__")
    kind = None
    if block in ("word", "lemma"):
        kind = next((words[w] for w in name.lower().split() if w in words), None)
    elif block == "char":
        gram = name.strip().lower()
        if len(gram) >= 2:
            kind = next((k for k, value in values if gram in value), None)
    if kind is None:
        return item
    return {**item, "feature": f"{block}__[{kind}]", "description_nl": f'"[{kind}]"'}


# --- filters ----------------------------------------------------------------------------------------

@dataclass
class AuditFilters:
    needs_review: bool | None = None
    low_confidence: bool | None = None
    overridden: bool | None = None
    reviewed: bool | None = None
    resolved: bool | None = None
    role: str | None = None
    minor: bool | None = None
    urgency: str | None = None
    model_version: str | None = None
    source: str | None = None
    chat_id: str | None = None
    request_key: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def conditions(self) -> list:
        r = AuditRecord
        where = []
        for column, value in ((r.needs_review, self.needs_review), (r.overridden, self.overridden),
                              (r.gold_resolved, self.resolved), (r.role, self.role), (r.minor, self.minor),
                              (r.urgency, self.urgency), (r.model_version, self.model_version),
                              (r.chat_id, self.chat_id), (r.request_key, self.request_key)):
            if value is not None:
                where.append(column == value)
        if self.source is not None:
            where.append(r.source.in_(("chat", "message")) if self.source == "queue" else r.source == self.source)
        if self.low_confidence is not None:
            low = or_(r.role_score < LOW_CONFIDENCE, r.urgency_score < LOW_CONFIDENCE)
            where.append(low if self.low_confidence else ~low)
        if self.reviewed is not None:
            where.append(r.review_count > 0 if self.reviewed else r.review_count == 0)
        if self.date_from is not None:
            where.append(r.created_at >= _utc(self.date_from))
        if self.date_to is not None:
            where.append(r.created_at < _utc(self.date_to))
        return where


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{record_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id" or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_RECORD_ID:
            raise ValueError  # also ids the database cannot hold (MAX_RECORD_ID)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "cursor is not a cursor returned by this endpoint",
                       field="cursor") from None


def record_not_found(record_id: int) -> ApiError:
    return ApiError(404, "record_not_found", f"no audit record with id {record_id}", field="id")


# --- the store ----------------------------------------------------------------------------------------

class AuditStore:
    def __init__(self, db: Database, settings):
        self.db = db
        self.settings = settings
        load_redaction()

    # --- writing ---------------------------------------------------------------------------------
    def build(self, text: str, prediction: dict, guidance: list[dict], *, source: str,
              chat_id: str | None = None, message_count: int | None = None, effective: dict | None = None,
              truncated: bool = False, now: datetime | None = None, request_key: str | None = None,
              redaction=None) -> dict:
        """The values of an audit record (redaction happens here, outside any transaction, unless
        `redaction`, redact(text), was made beforehand)."""
        now = now or utcnow()
        redacted, safe, counts = redact_prediction(text, prediction, redaction)
        scores = prediction.get("scores", {})
        return dict(
            created_at=now, week=iso_week(now), source=source, request_key=request_key, chat_id=chat_id,
            message_count=message_count,
            model_version=prediction["model_version"], spacy_pipeline=prediction.get("spacy_pipeline", ""),
            role=prediction["role"], minor=bool(prediction["minor"]), urgency=prediction["urgency"],
            topics=list(prediction.get("topics", [])),
            role_score=float(max(scores.get("role", {}).values(), default=0.0)),
            urgency_score=float(max(scores.get("urgency", {}).values(), default=0.0)),
            needs_review=bool(prediction.get("needs_review")), redacted_text=redacted, text_chars=len(text),
            text_truncated=truncated, redactions=counts,
            raw_text=text if self.settings.store_raw_text else None,
            prediction=safe,
            guidance=[{"id": c["id"], "title": c.get("title", ""), "reason": c.get("reason", "")} for c in guidance],
            effective=({k: effective[k] for k in ("urgency", "role", "minor", "needs_review") if k in effective}
                       if effective else None),
            overridden=False, overrides=[], review_count=0, gold_resolved=False,
        )

    @staticmethod
    def add(session: Session, values: dict) -> AuditRecord:
        record = AuditRecord(**values)
        session.add(record)
        session.flush()
        return record

    def record(self, values: dict) -> int:
        with self.db.write() as session:
            return self.add(session, values).id

    def add_override(self, session: Session, chat_id: str, entry: dict) -> int | None:
        """Link an advisor's override to the chat's latest audit record (in the caller's transaction).
        The entry's reason must already be redacted (redact_text)."""
        # a row lock on PostgreSQL; SQLite ignores FOR UPDATE (its writes are serialised)
        query = (select(AuditRecord).where(AuditRecord.chat_id == chat_id).order_by(AuditRecord.id.desc()).limit(1)
                 .with_for_update())
        record = session.scalars(query).first()
        if record is None:
            return None
        record.overrides = [*(record.overrides or []), entry]
        record.overridden = True
        return record.id

    # --- reading ---------------------------------------------------------------------------------
    def list(self, filters: AuditFilters, limit: int = 50, cursor: str | None = None) -> dict:
        where = filters.conditions()
        page_where = list(where)
        if cursor:
            page_where.append(AuditRecord.id < decode_cursor(cursor))
        with self.db.read() as session:
            rows = session.scalars(select(AuditRecord).where(*page_where).order_by(AuditRecord.id.desc())
                                   .limit(limit + 1)).all()
            total = session.scalar(select(func.count()).select_from(AuditRecord).where(*where))
            more = len(rows) > limit
            items = [self._summary(r) for r in rows[:limit]]
        return {"items": items, "count": len(items), "total": int(total or 0), "limit": limit,
                "next_cursor": encode_cursor(items[-1]["id"]) if more else None}

    @staticmethod
    def _summary(r: AuditRecord) -> dict:
        text = " ".join(r.redacted_text.split())
        return {
            "id": r.id, "created_at": iso(r.created_at), "source": r.source, "request_key": r.request_key,
            "chat_id": r.chat_id,
            "model_version": r.model_version, "spacy_pipeline": r.spacy_pipeline,
            "role": r.role, "minor": r.minor, "urgency": r.urgency, "topics": list(r.topics or []),
            "top_scores": {"role": r.role_score, "urgency": r.urgency_score},
            "needs_review": r.needs_review, "review_reasons": list((r.prediction or {}).get("review_reasons", [])),
            "low_confidence": r.role_score < LOW_CONFIDENCE or r.urgency_score < LOW_CONFIDENCE,
            "overridden": r.overridden, "review_count": r.review_count, "gold_resolved": r.gold_resolved,
            "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…",
        }

    def get(self, record_id: int, viewer: str | None = None) -> dict:
        """One record with its reviews and gold labels. `viewer`: the id of a reviewer who reads
        it; until that reviewer has reviewed the record themselves, the other reviewers' reviews
        and the gold labels are left out (`reviews_hidden`), so that each review is made
        independently. None (the admin): everything."""
        with self.db.read() as session:
            record = session.get(AuditRecord, record_id)
            if record is None:
                raise record_not_found(record_id)
            reviews = session.scalars(select(Review).where(Review.record_id == record_id).order_by(Review.id)).all()
            return self._detail(record, reviews, viewer)

    def _detail(self, r: AuditRecord, reviews: list[Review], viewer: str | None = None) -> dict:
        hidden = viewer is not None and not any(v.reviewer == viewer for v in reviews)
        out = self._summary(r)
        out.update(
            text=r.redacted_text, text_chars=r.text_chars, text_truncated=r.text_truncated,
            redactions=dict(r.redactions or {}), raw_text_stored=r.raw_text is not None,
            message_count=r.message_count, prediction=r.prediction, explanation=(r.prediction or {}).get("explanation"),
            guidance=r.guidance, effective=r.effective, overrides=list(r.overrides or []),
            reviews=[] if hidden else [_review_out(v) for v in reviews],
            gold=None if hidden else self._gold_out(r, reviews),
            reviews_hidden=hidden,
        )
        return out

    @staticmethod
    def _gold_out(r: AuditRecord, reviews: list[Review]) -> dict:
        resolved = resolve_gold([_labels(v) for v in reviews])
        urgency_votes = resolved["votes"].get("urgency", {})
        top = max(urgency_votes.values(), default=0)
        tied = sum(1 for n in urgency_votes.values() if n == top) > 1
        return {"role": r.gold_role, "minor": r.gold_minor, "urgency": r.gold_urgency, "topics": r.gold_topics,
                "resolved": r.gold_resolved, "reviews": len(reviews), "votes": resolved["votes"],
                "unresolved": [h for h in HEADS if reviews and resolved[h] is None],
                "tie_broken": ["urgency"] if tied else []}

    # --- reviews ---------------------------------------------------------------------------------
    def review(self, record_id: int, body, reviewer: str, reviewer_name: str | None) -> tuple[dict, bool]:
        """Store a reviewer's review (a second one by the same reviewer replaces the first) and
        resolve the record's gold labels again. Returns (record detail, created)."""
        now = utcnow()
        note = redact_text(body.note) if body.note else None
        for attempt in range(2):
            try:
                with self.db.write() as session:
                    # a row lock on PostgreSQL; SQLite ignores FOR UPDATE (its writes are serialised)
                    query = select(AuditRecord).where(AuditRecord.id == record_id).with_for_update()
                    record = session.scalars(query).first()
                    if record is None:
                        raise record_not_found(record_id)
                    labels = _review_labels(record, body)
                    existing = session.scalars(select(Review).where(Review.record_id == record_id,
                                                                    Review.reviewer == reviewer)).first()
                    created = existing is None
                    if created:
                        existing = Review(record_id=record_id, reviewer=reviewer, created_at=now)
                        session.add(existing)
                    existing.reviewer_name = reviewer_name
                    existing.updated_at = now
                    existing.note = note
                    for key, value in labels.items():
                        setattr(existing, key, value)
                    session.flush()
                    reviews = session.scalars(select(Review).where(Review.record_id == record_id)
                                              .order_by(Review.id)).all()
                    gold = resolve_gold([_labels(v) for v in reviews])
                    record.review_count = len(reviews)
                    record.gold_role, record.gold_minor, record.gold_urgency = gold["role"], gold["minor"], gold["urgency"]
                    record.gold_topics = gold["topics"]
                    record.gold_resolved = gold["resolved"]
                    session.flush()
                    return self._detail(record, reviews), created
            except IntegrityError:
                if attempt:  # the same reviewer's concurrent first review won: replace it
                    raise
        raise AssertionError("unreachable")

    # --- export ----------------------------------------------------------------------------------
    def export_lines(self, filters: AuditFilters, *, end_line: bool = True,
                     viewer: str | None = None) -> Iterator[bytes]:
        """Reviewed records with resolved gold labels as training JSONL (docs/training-data.md),
        oldest first, read in chunks (each chunk its own short transaction). The last line says the
        export is complete (triage/export_file.py): a cut stream lacks it. `viewer`: a reviewer
        sees settled labels only of records they reviewed themselves (reviews stay independent)."""
        from api.triager import combine_client_text
        from triage.export_file import ExportDigest

        digest = ExportDigest()
        after = 0
        where = [*filters.conditions(), AuditRecord.gold_resolved.is_(True)]
        if viewer is not None:
            where.append(AuditRecord.id.in_(select(Review.record_id).where(Review.reviewer == viewer)))
        while True:
            with self.db.read() as session:
                rows = session.execute(
                    select(AuditRecord.id, AuditRecord.redacted_text, AuditRecord.gold_role, AuditRecord.gold_minor,
                           AuditRecord.gold_urgency, AuditRecord.gold_topics, AuditRecord.model_version,
                           AuditRecord.created_at, AuditRecord.review_count)
                    .where(*where, AuditRecord.id > after).order_by(AuditRecord.id).limit(EXPORT_CHUNK)).all()
            if not rows:
                if end_line:
                    yield digest.end_line()
                return
            for row in rows:
                text, _ = combine_client_text([row.redacted_text], MAX_TEXT_CHARS)
                if not text.strip():
                    continue
                line = {"id": f"audit-{row.id}", "text": text, "role": row.gold_role, "minor": bool(row.gold_minor),
                        "urgency": row.gold_urgency, "topics": [t for t in TOPICS if t in (row.gold_topics or [])],
                        "origin": "audit", "audit_id": row.id, "model_version": row.model_version,
                        "created_at": iso(row.created_at), "reviews": row.review_count}
                encoded = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
                digest.add(encoded)
                yield encoded
            after = rows[-1].id

    def gold_examples(self) -> list:
        """The resolved gold records as labelled texts (for the quality gate)."""
        from triage.versions.gate import LabelledText

        examples = []
        for line in self.export_lines(AuditFilters(), end_line=False):
            d = json.loads(line)
            examples.append(LabelledText(id=d["id"], text=d["text"], role=d["role"], minor=d["minor"], urgency=d["urgency"],
                                    topics=d["topics"], source="audit", split="test"))
        return examples

    # --- statistics ------------------------------------------------------------------------------
    def stats(self, filters: AuditFilters) -> dict:
        r = AuditRecord
        where = filters.conditions()
        low = or_(r.role_score < LOW_CONFIDENCE, r.urgency_score < LOW_CONFIDENCE)

        def flag(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        weeks: dict[str, dict] = {}
        with self.db.read() as session:
            for row in session.execute(
                    select(r.week, func.count(), flag(r.needs_review.is_(True)), flag(low),
                           flag(r.overridden.is_(True)), flag(r.review_count > 0))
                    .where(*where).group_by(r.week)):
                weeks[row[0]] = {"week": row[0], "records": int(row[1]), "needs_review": int(row[2]),
                                 "low_confidence": int(row[3]), "overridden_records": int(row[4]),
                                 "reviewed": int(row[5]), "role": dict.fromkeys(ROLES, 0),
                                 "urgency": dict.fromkeys(URGENCIES, 0), "minor": {"true": 0, "false": 0}}
            for column, key in ((r.role, "role"), (r.urgency, "urgency"), (r.minor, "minor")):
                for week, label, n in session.execute(select(r.week, column, func.count()).where(*where)
                                                      .group_by(r.week, column)):
                    name = ("true" if label else "false") if key == "minor" else label
                    weeks[week][key][name] = weeks[week][key].get(name, 0) + int(n)
            queue_where = [*where, r.chat_id.is_not(None)]
            chats = {week: (int(n), int(o)) for week, n, o in session.execute(
                select(r.week, func.count(func.distinct(r.chat_id)),
                       func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
                .where(*queue_where).group_by(r.week))}
            total_chats, overridden_chats = session.execute(
                select(func.count(func.distinct(r.chat_id)),
                       func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
                .where(*queue_where)).one()
            reviewed = session.execute(
                select(r.id, r.model_version, r.week, r.role, r.minor, r.urgency, r.topics, r.gold_role, r.gold_minor,
                       r.gold_urgency, r.gold_topics, r.gold_resolved).where(*where, r.review_count > 0)).all()
            review_rows = session.execute(
                select(Review.record_id, Review.reviewer, Review.role, Review.minor, Review.urgency, Review.topics)
                .join(r, r.id == Review.record_id).where(*where)).all()

        total = sum(w["records"] for w in weeks.values())
        out_weeks = []
        for week in sorted(weeks):
            w = weeks[week]
            n_chats, n_over = chats.get(week, (0, 0))
            w["needs_review_share"] = _share(w["needs_review"], w["records"])
            w["low_confidence_share"] = _share(w["low_confidence"], w["records"])
            w["chats"] = n_chats
            w["override_rate"] = _share(n_over, n_chats)
            w["accuracy"] = _accuracy([x for x in reviewed if x.week == week])
            out_weeks.append(w)
        by_version: dict[str, list] = defaultdict(list)
        for x in reviewed:
            by_version[x.model_version].append(x)
        reviewers = {row.reviewer for row in review_rows}
        return {
            "filters": {"from": iso(filters.date_from and _utc(filters.date_from)),
                        "to": iso(filters.date_to and _utc(filters.date_to)), "model_version": filters.model_version},
            "records": total,
            "needs_review": {"count": sum(w["needs_review"] for w in weeks.values()),
                             "share": _share(sum(w["needs_review"] for w in weeks.values()), total)},
            "low_confidence": {"count": sum(w["low_confidence"] for w in weeks.values()),
                               "share": _share(sum(w["low_confidence"] for w in weeks.values()), total),
                               "threshold": LOW_CONFIDENCE},
            "overrides": {"chats": int(total_chats or 0), "overridden_chats": int(overridden_chats or 0),
                          "rate": _share(int(overridden_chats or 0), int(total_chats or 0)),
                          "overridden_records": sum(w["overridden_records"] for w in weeks.values())},
            "reviews": {"reviews": len(review_rows), "reviewers": len(reviewers), "records_reviewed": len(reviewed),
                        "records_resolved": sum(1 for x in reviewed if x.gold_resolved),
                        "records_unresolved": sum(1 for x in reviewed if not x.gold_resolved),
                        "records_with_two_or_more": sum(1 for n in Counter(row.record_id for row in review_rows).values()
                                                        if n >= 2)},
            "weeks": out_weeks,
            "accuracy": {version: _accuracy(rows) for version, rows in sorted(by_version.items())},
            "agreement": agreement([row._asdict() for row in review_rows]),
            "under_triage": _under_triage(reviewed),
            "acute": _acute(reviewed),
            "confusion": {version: _confusion(rows) for version, rows in sorted(by_version.items())},
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _accuracy(rows: list) -> dict:
    """Per head, how often the model's label equals the gold label, on records where it is resolved."""
    out: dict[str, Any] = {"reviewed": len(rows)}
    for head in HEADS:
        pairs = [(getattr(x, head), getattr(x, f"gold_{head}")) for x in rows if getattr(x, f"gold_{head}") is not None]
        out[head] = {"n": len(pairs), "accuracy": _share(sum(1 for m, g in pairs if m == g), len(pairs))}
    pairs = [(set(x.topics or []), set(x.gold_topics)) for x in rows if x.gold_topics is not None]
    out["topics"] = {"n": len(pairs), "exact_match": _share(sum(1 for m, g in pairs if m == g), len(pairs))}
    return out


def _under_triage(rows: list) -> dict:
    """Under-triage: the share of reviewed records (with a resolved urgency) whose reviewed urgency
    is more urgent than the model's (the dangerous error: a chat waits longer than it should)."""
    pairs = [(x.urgency, x.gold_urgency) for x in rows if x.gold_urgency is not None]
    under = sum(1 for model, gold in pairs if URGENCY_RANK[gold] < URGENCY_RANK[model])
    return {"records": len(pairs), "under": under, "rate": _share(under, len(pairs))}


def _acute(rows: list) -> dict:
    """Recall and precision of the model's "acute" against the reviewed urgency."""
    pairs = [(x.urgency, x.gold_urgency) for x in rows if x.gold_urgency is not None]
    reviewed = sum(1 for _, gold in pairs if gold == "acute")
    predicted = sum(1 for model, _ in pairs if model == "acute")
    both = sum(1 for model, gold in pairs if model == gold == "acute")
    return {"records": len(pairs), "reviewed_acute": reviewed, "model_acute": predicted, "both": both,
            "recall": _share(both, reviewed), "precision": _share(both, predicted)}


CONFUSION_LABELS = {"urgency": list(URGENCIES), "role": list(ROLES), "minor": ["true", "false"]}


def _confusion(rows: list) -> dict:
    """Per head a confusion matrix: matrix[i][j] counts the records whose reviewed (gold) label is
    labels[i] and whose model label is labels[j]; records without a gold label for the head are left out."""
    def key(head: str, value) -> str:
        return ("true" if value else "false") if head == "minor" else str(value)

    out = {}
    for head, labels in CONFUSION_LABELS.items():
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        n = 0
        for x in rows:
            gold = getattr(x, f"gold_{head}")
            if gold is None:
                continue
            matrix[index[key(head, gold)]][index[key(head, getattr(x, head))]] += 1
            n += 1
        out[head] = {"labels": labels, "rows": "reviewed", "columns": "model", "matrix": matrix, "n": n}
    return out


def _labels(review: Review) -> dict:
    return {"role": review.role, "minor": review.minor, "urgency": review.urgency, "topics": list(review.topics or [])}


def _review_out(v: Review) -> dict:
    return {"reviewer": v.reviewer, "reviewer_name": v.reviewer_name, "created_at": iso(v.created_at),
            "updated_at": iso(v.updated_at), "role_ok": v.role_ok, "minor_ok": v.minor_ok, "urgency_ok": v.urgency_ok,
            "topics_ok": v.topics_ok, "labels": _labels(v), "note": v.note}


def _review_labels(record: AuditRecord, body) -> dict:
    """The reviewer's labels per head: the model's where *_ok, else the correction (422 when the
    review contradicts itself)."""
    corrected = body.corrected
    out: dict[str, Any] = {}
    for head in HEADS:
        ok = getattr(body, f"{head}_ok")
        model_label = getattr(record, head)
        given = getattr(corrected, head) if corrected is not None else None
        field = f"corrected.{head}"
        if ok:
            if given is not None and given != model_label:
                raise ApiError(422, "contradictory_review", f"{head}_ok is true but {field} differs from the model's "
                                                            f"{head}; set {head}_ok to false to correct it", field=field)
            out[head] = model_label
        else:
            if given is None:
                raise ApiError(422, "correction_missing", f"{head}_ok is false: give the correct label in {field}",
                               field=field)
            if given == model_label:
                raise ApiError(422, "contradictory_review", f"{field} is the model's own {head}; set {head}_ok to "
                                                            f"true instead", field=field)
            out[head] = given
        out[f"{head}_ok"] = bool(ok)
    topics = list(record.topics or [])
    if corrected is not None and corrected.topics is not None:
        chosen = set(corrected.topics)
        out["topics"] = [t for t in TOPICS if t in chosen]
        out["topics_ok"] = chosen == set(topics)
    else:
        out["topics"] = [t for t in TOPICS if t in set(topics)]
        out["topics_ok"] = True
    return out


# --- retention --------------------------------------------------------------------------------------

def purge(settings, now: datetime | None = None, db: Database | None = None, dry_run: bool = False) -> dict:
    """`triage purge`: see api/retention.py (abandoned chats, raw text and the chats' remaining text)."""
    from api.retention import purge as purge_all

    return purge_all(settings, now, db=db, dry_run=dry_run)


__all__ = ["AuditFilters", "AuditStore", "LOW_CONFIDENCE", "MAX_PAGE", "purge", "redact_prediction"]
