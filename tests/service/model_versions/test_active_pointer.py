"""Where the database's active version and the CLI's ACTIVE file meet (api/model_versions/pointer.py):
a server seeds an empty table from the file and adopts the file's version only when the file was
written after the newest activation; two activations replacing the same row cannot both be recorded."""

from __future__ import annotations

import os
import time

import pytest

from service.helpers import clone_model


@pytest.fixture
def pointer(db_url):
    from api.db import migrate
    from api.db.session import Database
    from api.model_versions.pointer import ActivePointer

    db = Database(db_url)
    migrate.upgrade(db)
    yield ActivePointer(db)
    db.dispose()


def _set_file(root, version: str, mtime: float) -> None:
    from triage.artifacts import ACTIVE, set_active

    set_active(root, version)
    os.utime(root / ACTIVE, (mtime, mtime))


def test_start_up_seeds_and_adopts_only_a_newer_file(pointer, registry):
    root, version = registry
    clone_model(root, version, "cli-newer")
    clone_model(root, version, "api-newest")
    assert pointer.newest() is None
    seeded = pointer.adopt_file(root)
    assert seeded.version == version and pointer.history()[-1]["by"] == "start-up"
    # nothing changed: nothing recorded
    assert pointer.adopt_file(root) == seeded
    # the CLI activated after the newest row: adopted as a new row that replaces it
    _set_file(root, "cli-newer", time.time() + 5)
    adopted = pointer.adopt_file(root)
    assert adopted.version == "cli-newer" and adopted.id > seeded.id
    assert pointer.history()[-1]["previous"] == version
    # an activation through the API elsewhere, after this machine's file was written: the table wins
    newest = pointer.record("api-newest", supersedes=adopted, by="api:admin")
    _set_file(root, version, time.time() - 60)
    assert pointer.adopt_file(root) == newest
    assert [a["version"] for a in pointer.history()] == [version, "cli-newer", "api-newest"]


def test_an_empty_table_without_a_file_takes_the_loaded_model(pointer, tmp_path):
    (tmp_path / "empty").mkdir()
    assert pointer.adopt_file(tmp_path / "empty") is None
    assert pointer.adopt_file(tmp_path / "empty", fallback="given").version == "given"


def test_two_activations_replacing_the_same_row_conflict(pointer):
    from api.model_versions.pointer import ActivationConflict

    first = pointer.record("a", supersedes=None, by="start-up")
    with pytest.raises(ActivationConflict):
        pointer.record("b", supersedes=None, by="start-up")
    pointer.record("b", supersedes=first, by="api:one")
    with pytest.raises(ActivationConflict):
        pointer.record("c", supersedes=first, by="api:two")
    assert pointer.newest().version == "b"
