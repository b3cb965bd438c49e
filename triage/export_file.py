"""The end line of an audit export, and the check that an export file is complete.

`GET /v1/audit/export` streams reviewed records as training JSONL. A stream can be cut off (a
dropped connection, a server restart, a database error after the first lines) and the file then
looks like a shorter, valid export: retraining on it would silently lose reviewed corrections. So
a complete export ends with one more line,

    {"end_of_export": true, "records": N, "sha256": "<hex digest of the N record lines>"}

and `check_exports` (used by training.schema.load_labelled, so by `triage train` and the quality
gate's --gold) refuses an export whose end line is missing or does not match the lines before it.

A file may hold several exports one after the other (`cat a.jsonl b.jsonl`), and plain training
lines beside them: the lines of an export are those with "origin": "audit", and each end line
closes the export lines since the previous one.
"""

from __future__ import annotations

import hashlib
import json

END_KEY = "end_of_export"
EXPORT_ORIGIN = "audit"


class ExportDigest:
    """Counts and hashes the record lines of one export, as written (UTF-8 bytes with the newline)."""

    def __init__(self) -> None:
        self.records = 0
        self._sha = hashlib.sha256()

    def add(self, line: bytes) -> None:
        self.records += 1
        self._sha.update(line)

    def end_line(self) -> bytes:
        end = {END_KEY: True, "records": self.records, "sha256": self._sha.hexdigest()}
        return (json.dumps(end) + "\n").encode("utf-8")

    def matches(self, end: dict) -> bool:
        return end.get("records") == self.records and end.get("sha256") == self._sha.hexdigest()


def is_end_line(obj: object) -> bool:
    return isinstance(obj, dict) and obj.get(END_KEY) is True


def is_export_line(obj: object) -> bool:
    return isinstance(obj, dict) and obj.get("origin") == EXPORT_ORIGIN and "audit_id" in obj


CUT = ("the audit export ends without its end line: the download was cut off; download it again "
       "(GET /v1/audit/export)")
MISMATCH = ("the end line of the audit export does not match the lines before it ({found} records, the end line "
            "says {said}): lines were lost or changed; download it again")


def check_exports(lines: list[tuple[int, object, str]]) -> list[tuple[int, str]]:
    """Problems [(line number, message)] of the exports in one file's parsed lines
    [(number, object, raw line text)]; [] when every export in it is complete."""
    problems: list[tuple[int, str]] = []
    digest = ExportDigest()
    last = 0
    for number, obj, raw in lines:
        last = number
        if is_end_line(obj):
            if not digest.matches(obj):
                problems.append((number, MISMATCH.format(found=digest.records, said=obj.get("records"))))
            digest = ExportDigest()
        elif is_export_line(obj):
            digest.add(raw.encode("utf-8"))
    if digest.records:
        problems.append((last, CUT))
    return problems
