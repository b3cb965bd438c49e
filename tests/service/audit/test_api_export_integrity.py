"""A cut audit export is recognised (issue 13, item 12): the export ends with an end line that
counts and hashes its records, and the reader that retraining uses (training.schema.load_labelled,
behind `triage train --data` and the quality gate's --gold) refuses an export without it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from service.helpers import ROOT, audit_record_id, auth
from training.schema import DataError, load_labelled

Q, R = auth("queue"), auth("reviewer")
TEXTS = ("mijn vader slaat mij elke avond", "mijn buurvrouw schreeuwt en ik hoor klappen",
         "ik heb een vraag over een melding", "mijn vriend dreigt me te vermoorden als ik wegga")


@pytest.fixture
def export_bytes(client) -> bytes:
    for text in TEXTS:
        record_id = audit_record_id(client, client.post("/v1/triage", json={"text": text}, headers=Q))
        r = client.post(f"/v1/audit/predictions/{record_id}/reviews",
                        json={"role_ok": True, "minor_ok": True, "urgency_ok": True}, headers=R)
        assert r.status_code == 201, r.text
    r = client.get("/v1/audit/export", headers=R)
    assert r.status_code == 200
    return r.content


def _write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_complete_export_ends_with_its_end_line_and_loads(export_bytes, tmp_path):
    *records, end = export_bytes.decode().splitlines()
    assert json.loads(end) == {"end_of_export": True, "records": len(TEXTS), "sha256": json.loads(end)["sha256"]}
    loaded = load_labelled([_write(tmp_path, "export.jsonl", export_bytes)])
    assert len(loaded) == len(records) == len(TEXTS)
    # two exports in one file, and plain training lines beside them, load too
    plain = b'{"text": "hoi", "role": "unknown", "minor": false, "urgency": "low"}\n'
    both = _write(tmp_path, "both.jsonl", export_bytes + plain + export_bytes)
    assert len(load_labelled([both])) == 2 * len(TEXTS) + 1


def _flip_minor(line: bytes) -> bytes:
    if b'"minor": false' in line:
        return line.replace(b'"minor": false', b'"minor": true')
    return line.replace(b'"minor": true', b'"minor": false')


def test_a_cut_export_is_refused(export_bytes, tmp_path):
    lines = export_bytes.splitlines(keepends=True)
    cuts = {
        "end line missing": b"".join(lines[:-1]),
        "cut between records": b"".join(lines[:2]),
        "cut inside a record": b"".join(lines[:2]) + lines[2][:25],
        "a record lost": b"".join(lines[:1] + lines[2:]),
        "a record changed": _flip_minor(lines[0]) + b"".join(lines[1:]),
        "second of two exports cut": export_bytes + b"".join(lines[:-1]),
    }
    for what, content in cuts.items():
        with pytest.raises(DataError) as err:
            load_labelled([_write(tmp_path, "cut.jsonl", content)])
        assert "(export)" in str(err.value) and "download it again" in str(err.value), what


def test_triage_train_refuses_a_cut_export(export_bytes, tmp_path):
    cut = _write(tmp_path, "cut.jsonl", b"".join(export_bytes.splitlines(keepends=True)[:-1]))
    run = subprocess.run([sys.executable, "-m", "triage_cli.main", "train", "--data", str(cut),
                          "--out", str(tmp_path / "models")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "cut off" in run.stderr and not (tmp_path / "models").exists()
