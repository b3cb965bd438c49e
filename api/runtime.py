"""What one server process holds: settings, database, keys, model, guidance cards, metrics.

`start()` runs the migrations, creates the first admin key if no key exists, validates the
guidance cards (a bad card stops start-up with the GuidanceError message) and loads the model
once; it is called by the app's lifespan, or earlier by `triage serve` so that start-up errors are
printed plainly before uvicorn runs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from api.audit_writer import AuditWriter
from api.db import migrate
from api.db.session import Database
from api.metrics import Metrics
from api.security import KeyStore, bootstrap_admin_key
from api.settings import ApiSettings

log = logging.getLogger("triage.api")


class Runtime:
    def __init__(self, settings: ApiSettings, model=None, cards=None):
        self.settings = settings
        self.model = model
        self.cards = cards
        self.db: Database | None = None
        self.keys: KeyStore | None = None
        self.triager = None
        self.service = None
        self.audit_writer = None
        self.metrics = Metrics(lambda: self.db)
        self.admin_key_file: Path | None = None
        self.started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            self._start()
            self.started = True

    def _start(self) -> None:
        from api.chats import ChatService
        from api.triager import Triager

        settings = self.settings
        env_keys = settings.parsed_api_keys()  # ApiKeyConfigError names the bad entry
        data_dir = Path(settings.data_dir)
        if not data_dir.exists():
            data_dir.mkdir(parents=True, mode=0o700)  # database and admin key: private
        if self.cards is None:
            from triage.guidance import load_cards

            self.cards = load_cards(settings.guidance_dir)  # GuidanceError stops start-up
        db = Database(settings.resolved_database_url, settings.db_pool_size,
                      busy_timeout_ms=settings.db_busy_timeout_ms, lock_timeout_ms=settings.db_lock_timeout_ms,
                      statement_timeout_ms=settings.db_statement_timeout_ms)
        try:
            with migrate.startup_lock(db):
                migrate.upgrade(db)
                new_key, key_file = bootstrap_admin_key(settings, db)
        except BaseException:
            db.dispose()
            raise
        self.db = db
        self.admin_key_file = key_file
        if new_key:
            # Printed exactly once, when it is created; never logged.
            print("\n" + "=" * 78 + f"\ntriage: no API key was configured, so an admin key was created:\n\n    {new_key}\n\n"
                  f"It is stored in {key_file} (mode 0600) and will not be shown again.\n"
                  "Set TRIAGE_API_KEYS=\"queue:...,advisor:...\" for the chat platform and advisors.\n" + "=" * 78,
                  file=sys.stdout, flush=True)
        if self.model is None:
            from triage.model import TriageModel

            self.model = TriageModel.load(settings=settings)
        self.model.warm_up()  # the first request should not pay for lazy initialisation
        triager = Triager(self.model, self.cards, self.metrics, settings.guidance_limit)
        triager.start_pool(settings.resolved_model_processes, settings)
        self.triager = triager
        self.service = ChatService(db, self.triager, settings)
        self.audit_writer = AuditWriter(self.service.audit, settings.resolved_audit_outbox_dir,
                                        max_bytes=int(settings.audit_outbox_max_mb * 2**20))
        self.metrics.watch_audit_writer(self.audit_writer)
        self.keys = KeyStore(db, env_keys, settings.key_cache_seconds)
        self.keys.refresh()
        self.metrics.model_info.labels(self.model.version, getattr(self.model, "pipeline_label", "")).set(1)
        log.info("triage API ready: model %s, database %s, %d API key(s), pid %d", self.model.version,
                 db.engine.url.render_as_string(hide_password=True), self.keys.count(), os.getpid())

    def stop(self) -> None:
        if self.audit_writer is not None:
            self.audit_writer.close()  # drains the outbox to the database (what is left is replayed at start)
        if self.triager is not None:
            self.triager.stop()
        if self.db is not None:
            self.db.dispose()
