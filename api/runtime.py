"""What one server process holds: settings, database, keys, model, guidance cards, metrics.

`Runtime` is the lifecycle; `start()` builds `Services`, a frozen dataclass whose fields are typed
and never None, which the routes receive as typed dependencies (api/deps.py).

`start()` runs the migrations, creates the first admin key if no key exists, validates the
guidance cards (a bad card stops start-up with the GuidanceError message), loads the model version
the database names as active (seeding it from the ACTIVE file: api/model_versions/pointer.py) and
starts following it (every process polls the newest activation); it is called by the app's
lifespan, or earlier by `triage serve` so that start-up errors are printed plainly before uvicorn
runs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from api.audit import AuditStore
from api.audit.writer import AuditWriter
from api.chats.service import ChatService
from api.db import migrate
from api.db.session import Database
from api.model_versions.pointer import ActivePointer
from api.model_versions.service import ModelRegistry
from api.ops.metrics import Metrics
from api.predictions.service import Triager
from api.queue.service import QueueService
from api.security import KeyStore, bootstrap_admin_key
from api.settings import ApiSettings

log = logging.getLogger("triage.api")


@dataclass(frozen=True, slots=True)
class Services:
    """A started server process: every field is set by Runtime.start()."""

    settings: ApiSettings
    db: Database
    keys: KeyStore
    triager: Triager
    chats: ChatService
    queue: QueueService
    audit: AuditStore
    audit_writer: AuditWriter
    registry: ModelRegistry
    metrics: Metrics
    admin_key_file: Path | None


class NotStarted(RuntimeError):
    """A service was asked for before Runtime.start() (or after a failed start)."""


class Runtime:
    def __init__(self, settings: ApiSettings, model=None, cards=None):
        self.settings = settings
        self._model = model
        self._cards = cards
        self._services: Services | None = None
        self.metrics = Metrics(lambda: self._services.db if self._services is not None else None)
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._services is not None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise NotStarted("the server's services are not started: Runtime.start() runs in the app's lifespan")
        return self._services

    # Shorthands for the services most callers want (tests, the server's banner, the middleware).
    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def keys(self) -> KeyStore:
        return self.services.keys

    @property
    def triager(self) -> Triager:
        return self.services.triager

    @property
    def service(self) -> ChatService:
        return self.services.chats

    @property
    def audit_writer(self) -> AuditWriter:
        return self.services.audit_writer

    @property
    def admin_key_file(self) -> Path | None:
        return self.services.admin_key_file

    def start(self) -> Services:
        with self._lock:
            if self._services is None:
                self._services = self._start()
            return self._services

    def _start(self) -> Services:
        settings = self.settings
        env_keys = settings.parsed_api_keys()  # ApiKeyConfigError names the bad entry
        data_dir = Path(settings.data_dir)
        if not data_dir.exists():
            data_dir.mkdir(parents=True, mode=0o700)  # database and admin key: private
        cards = self._cards
        if cards is None:
            from triage.guidance import load_cards

            cards = load_cards(settings.guidance_dir)  # GuidanceError stops start-up
        db = Database(settings.resolved_database_url, settings.db_pool_size,
                      busy_timeout_ms=settings.db_busy_timeout_ms, lock_timeout_ms=settings.db_lock_timeout_ms,
                      statement_timeout_ms=settings.db_statement_timeout_ms)
        pointer = ActivePointer(db)
        given = getattr(self._model, "model_dir", None)
        try:
            with migrate.startup_lock(db):
                migrate.upgrade(db)
                new_key, key_file = bootstrap_admin_key(settings, db)
                # The database names the active model (api/model_versions/pointer.py).
                active = pointer.adopt_file(Path(settings.model_dir), Path(given).name if given else None)
        except BaseException:
            db.dispose()
            raise
        if new_key:
            # Printed exactly once, when it is created; never logged.
            print("\n" + "=" * 78 + f"\ntriage: no API key was configured, so an admin key was created:\n\n    {new_key}\n\n"
                  f"It is stored in {key_file} (mode 0600) and will not be shown again.\n"
                  "Set TRIAGE_API_KEYS=\"queue:...,advisor:...\" for the chat platform and advisors.\n" + "=" * 78,
                  file=sys.stdout, flush=True)
        model = self._model
        if model is None:
            from triage.model import TriageModel

            model = TriageModel.load(Path(settings.model_dir) / active.version if active else None, settings)
        model.warm_up()  # the first request should not pay for lazy initialisation
        triager = Triager(model, cards, self.metrics, settings.guidance_limit)
        triager.start_pool(settings.resolved_model_processes, settings)
        chats = ChatService(db, triager, settings)
        audit_writer = AuditWriter(chats.audit, settings.resolved_audit_outbox_dir,
                                   max_bytes=int(settings.audit_outbox_max_mb * 2**20))
        self.metrics.watch_audit_writer(audit_writer)
        keys = KeyStore(db, env_keys, settings.key_cache_seconds)
        keys.refresh()
        self.metrics.model_info.labels(model.version, getattr(model, "pipeline_label", "")).set(1)
        log.info("triage API ready: model %s, database %s, %d API key(s), pid %d", model.version,
                 db.engine.url.render_as_string(hide_password=True), keys.count(), os.getpid())
        registry = ModelRegistry(settings, triager, chats.audit, self.metrics, pointer)
        if self._model is None or given is not None:
            # A given model (tests) that is not the active one is swapped on the first poll; a
            # stand-in without a model directory is left alone.
            registry.start_following(active)
        return Services(settings=settings, db=db, keys=keys, triager=triager, chats=chats, queue=QueueService(chats),
                        audit=chats.audit, audit_writer=audit_writer, registry=registry,
                        metrics=self.metrics, admin_key_file=key_file)

    def stop(self) -> None:
        services = self._services
        if services is None:
            return
        services.registry.stop_following()
        services.audit_writer.close()  # drains the outbox to the database (what is left is replayed at start)
        services.triager.stop()
        services.db.dispose()
