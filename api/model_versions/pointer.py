"""The active model version in the database (table model_activations, api/model_versions/models.py).

The table is the truth for every server process and instance; the model directory's ACTIVE file
stays the pointer of the CLI (`triage train --activate`, `triage models activate`, which need no
server). They meet in two places:

- an activation through the API writes the row first, then the file and its activation log;
- at start-up (under the start-up lock, so one process at a time) a server adopts the file's
  version when the table is empty, or when the file was written after the newest row (the CLI
  activated a version while no server, or an older one, held the table): the newest activation
  wins, whichever side made it. A server's own file, older than the row, never overrides the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.db.session import Database
from api.model_versions.models import ModelActivation


@dataclass(frozen=True, slots=True)
class Active:
    id: int
    version: str
    activated_at: datetime


class ActivationConflict(Exception):
    """Another activation was recorded after the one this activation was gated against."""


class ActivePointer:
    def __init__(self, db: Database):
        self.db = db

    def newest(self) -> Active | None:
        """The active version: one indexed row (the primary key's end); cheap enough to poll."""
        with self.db.read() as session:
            row = session.execute(select(ModelActivation.id, ModelActivation.version, ModelActivation.activated_at)
                                  .order_by(ModelActivation.id.desc()).limit(1)).first()
        return Active(row.id, row.version, row.activated_at) if row else None

    def record(self, version: str, *, supersedes: Active | None, by: str, reason: str | None = None,
               forced: bool = False, passed_gate: bool | None = None, failures: list | None = None) -> Active:
        """Insert an activation that replaces `supersedes` (None: the table is empty). Raises
        ActivationConflict when another activation replaced it first."""
        now = datetime.now(timezone.utc)
        row = ModelActivation(version=version, previous=supersedes.version if supersedes else None,
                              supersedes=supersedes.id if supersedes else None, activated_at=now, by=by[:200],
                              reason=reason, forced=forced, passed_gate=passed_gate, failures=failures)
        try:
            with self.db.write() as session:
                if supersedes is None and session.execute(select(ModelActivation.id).limit(1)).first():
                    raise ActivationConflict("the table is no longer empty")
                session.add(row)
                session.flush()
                new_id = row.id
        except IntegrityError:
            raise ActivationConflict(f"an activation replaced {supersedes.version if supersedes else 'nothing'} "
                                     "first") from None
        return Active(new_id, version, now)

    def history(self, last: int = 10) -> list[dict]:
        """The last activations, oldest first (the shape of the activation log's entries)."""
        with self.db.read() as session:
            rows = session.scalars(select(ModelActivation).order_by(ModelActivation.id.desc()).limit(last)).all()
            return [{"at": r.activated_at.isoformat(timespec="seconds"), "version": r.version,
                     "previous": r.previous, "passed_gate": r.passed_gate, "forced": r.forced, "reason": r.reason,
                     "failures": r.failures or [], "by": r.by} for r in reversed(rows)]

    def adopt_file(self, root: Path, fallback: str | None = None) -> Active | None:
        """Start-up: adopt ACTIVE's version if the table is empty or the file is newer than the
        newest row (see the module's docstring); `fallback` (the model the server was given)
        seeds an empty table when there is no file. Returns the active row afterwards."""
        from triage.artifacts import ACTIVE, active_version

        newest = self.newest()
        pointer = root / ACTIVE
        version = active_version(root)
        if newest is None:
            version = version or fallback
            if version is None:
                return None
            return self.record(version, supersedes=None, by="start-up",
                               reason=f"adopted from {pointer}" if pointer.is_file() else "the model the server loaded")
        if version and version != newest.version:
            written = datetime.fromtimestamp(pointer.stat().st_mtime, timezone.utc)
            if written > newest.activated_at:
                return self.record(version, supersedes=newest, by="start-up",
                                   reason=f"adopted from {pointer}, written after the last activation in the "
                                          "database")
        return newest
