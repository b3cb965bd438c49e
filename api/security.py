"""API keys with roles.

Keys are sent as `Authorization: Bearer <key>`. Only their sha256 is kept (in memory for keys from
TRIAGE_API_KEYS, in the api_keys table for stored keys); a presented key is hashed and compared
with every known hash in constant time (hmac.compare_digest), without stopping at a match.
Keys are high-entropy random strings (32 bytes), so a fast hash is enough.

With no key configured at all, the first start creates an admin key, writes it to
<data dir>/admin.key (mode 0600) and prints it once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from api.db.models import ApiKey, utcnow
from api.db.session import Database
from api.settings import ROLES, ApiSettings

KEY_PREFIX = "vt_"


@dataclass(frozen=True)
class Principal:
    role: str
    label: str
    # A stable, non-secret id of the key ("key-" + the first 12 hex digits of its sha256): who a
    # reviewer is (one review per reviewer per record). `name`: the label a stored key was given.
    key_id: str = ""
    name: str | None = None


def key_id(digest: bytes) -> str:
    return "key-" + digest.hex()[:12]


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


REFRESH_WAIT_SECONDS = 0.1


class KeyStore:
    """All valid keys (hashes); database keys are re-read at most every `cache_seconds`."""

    def __init__(self, db: Database, env_keys: list[tuple[str, str]], cache_seconds: float = 30.0):
        self.db = db
        self.cache_seconds = cache_seconds
        self._env = [(digest, Principal(role, f"env:{role}#{i + 1}", key_id(digest)))
                     for i, (role, key) in enumerate(env_keys) for digest in (hash_key(key),)]
        self._stored: list[tuple[bytes, Principal]] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self.db.read() as session:
            rows = session.execute(select(ApiKey.key_hash, ApiKey.role, ApiKey.label, ApiKey.id)
                                   .where(ApiKey.revoked_at.is_(None))).all()
        self._stored = [(bytes.fromhex(h), Principal(role, label or f"db:{kid}", key_id(bytes.fromhex(h)), label or None))
                        for h, role, label, kid in rows if role in ROLES]
        self._loaded_at = time.monotonic()

    def _keys(self) -> list[tuple[bytes, Principal]]:
        """The known keys. Authentication runs on the event loop, so an expired cache is re-read in
        a thread, awaited for at most REFRESH_WAIT_SECONDS (a healthy database answers in about a
        millisecond); a slow or hanging database leaves the last known keys answering, without
        stalling the event loop."""
        if time.monotonic() - self._loaded_at > self.cache_seconds and self._lock.acquire(blocking=False):
            refresh = threading.Thread(target=self._refresh_in_background, daemon=True, name="triage-key-refresh")
            refresh.start()
            refresh.join(REFRESH_WAIT_SECONDS)
        return self._env + self._stored

    def _refresh_in_background(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - keep the last known keys if the database blips; retry in 1 s
            self._loaded_at = time.monotonic() - self.cache_seconds + 1.0
        finally:
            self._lock.release()

    def authenticate(self, key: str) -> Principal | None:
        if not key or len(key) > 512:
            return None
        presented = hash_key(key)
        found: Principal | None = None
        for stored, principal in self._keys():
            if hmac.compare_digest(stored, presented) and found is None:
                found = principal
        return found

    def find(self, ref: str, roles: tuple[str, ...]) -> list[Principal]:
        """The keys of `roles` that `ref` names: by key id, or by label (case-insensitive)."""
        folded = ref.casefold()
        found: dict[str, Principal] = {}
        for _digest, principal in self._keys():
            if principal.role in roles and (principal.key_id == ref or principal.label.casefold() == folded):
                found.setdefault(principal.key_id, principal)
        return list(found.values())

    def count(self) -> int:
        return len(self._keys())


def store_key(db: Database, role: str, key: str, label: str) -> int:
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; roles are {', '.join(ROLES)}")
    with db.write() as session:
        row = ApiKey(role=role, key_hash=hash_key(key).hex(), label=label, created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


# --- managing stored keys (`triage keys`) ------------------------------------------------------------
# A running server sees a new or revoked key within TRIAGE_KEY_CACHE_SECONDS (default 30 s).

LABEL_MAX = 100


def add_key(db: Database, role: str, label: str) -> tuple[int, str]:
    """A new random key for `role`: (its id, the key). Only the hash is stored: show the key once."""
    label = " ".join(label.split())
    if not label:
        raise ValueError("a label is required (who or what uses the key, e.g. 'chat platform' or 'A. Jansen')")
    if len(label) > LABEL_MAX:
        raise ValueError(f"the label is longer than {LABEL_MAX} characters")
    key = new_key()
    return store_key(db, role, key, label), key


def list_keys(db: Database) -> list[dict]:
    """Stored keys without their hashes: id, role, label, key id, created, revoked."""
    with db.read() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
        return [{"id": r.id, "role": r.role, "label": r.label, "key_id": key_id(bytes.fromhex(r.key_hash)),
                 "created_at": r.created_at.isoformat(), "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
                for r in rows]


def revoke_key(db: Database, key_id_: int) -> bool:
    """Revoke a stored key; False if there is no such key or it was revoked already."""
    with db.write() as session:
        row = session.get(ApiKey, key_id_)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        return True


def _write_secret(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def bootstrap_admin_key(settings: ApiSettings, db: Database) -> tuple[str | None, Path | None]:
    """Create the first admin key when no key is configured anywhere.

    Returns (the new key or None, the key file or None). The key is returned only when it was just
    created: the caller prints it once. An existing admin.key file with an empty key table (a new
    database) is registered again instead of replaced.
    """
    if settings.parsed_api_keys():
        return None, None
    with db.read() as session:
        if session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None:
            path = settings.admin_key_path
            return None, path if path.is_file() else None
    path = settings.admin_key_path
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            store_key(db, "admin", key, "admin (admin.key)")
            return None, path
    key = new_key()
    _write_secret(path, key + "\n")
    store_key(db, "admin", key, "admin (generated at first start)")
    return key, path
