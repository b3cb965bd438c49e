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

One module per job: prediction_redaction (what a record stores), filters (filters and paging),
records (AuditStore: storage and reading), record_views (a record in API answers), reviews,
export and statistics. The names below are the package's interface.
"""

from __future__ import annotations

from datetime import datetime

from api.audit.filters import LOW_CONFIDENCE, MAX_PAGE, AuditFilters
from api.audit.prediction_redaction import load_redaction, redact_prediction, redact_text
from api.audit.records import AuditStore
from api.db.session import Database


def purge(settings, now: datetime | None = None, db: Database | None = None, dry_run: bool = False) -> dict:
    """`triage purge`: see api/retention.py (abandoned chats, raw text and the chats' remaining text)."""
    from api.retention import purge as purge_all

    return purge_all(settings, now, db=db, dry_run=dry_run)


__all__ = ["AuditFilters", "AuditStore", "LOW_CONFIDENCE", "MAX_PAGE", "load_redaction", "purge",
           "redact_prediction", "redact_text"]
