"""Versioned model directories: the joblib artifact, its manifest and the report.

joblib loads pickles, and a pickle can run code: an artifact is only loaded after its sha256
matches the manifest next to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import joblib

ARTIFACT = "model.joblib"
MANIFEST = "manifest.json"
REPORT = "report.html"
ACTIVE = "ACTIVE"


class ArtifactError(RuntimeError):
    """A model directory is missing, incomplete, tampered with or incompatible."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def save_artifact(model_dir: Path, payload, manifest: dict) -> dict:
    """Write payload with joblib and a manifest carrying its sha256; returns the manifest."""
    model_dir.mkdir(parents=True, exist_ok=True)
    artifact = model_dir / ARTIFACT
    joblib.dump(payload, artifact, compress=3)
    manifest = dict(manifest, artifact={"file": ARTIFACT, "sha256": sha256_file(artifact),
                                        "bytes": artifact.stat().st_size})
    write_json_atomic(model_dir / MANIFEST, manifest)
    return manifest


def read_manifest(model_dir: Path) -> dict:
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{model_dir} is not a triage model: {MANIFEST} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc


def verify_artifact(model_dir: Path, manifest: dict) -> Path:
    artifact = model_dir / manifest.get("artifact", {}).get("file", ARTIFACT)
    expected = manifest.get("artifact", {}).get("sha256")
    if not artifact.is_file():
        raise ArtifactError(f"{artifact} is missing")
    if not expected:
        raise ArtifactError(f"{model_dir / MANIFEST} records no sha256 for the artifact; refusing to load it")
    actual = sha256_file(artifact)
    if actual != expected:
        raise ArtifactError(
            f"refusing to load {artifact}: its sha256 {actual[:12]}... does not match the manifest "
            f"({expected[:12]}...). The file was changed or corrupted after training."
        )
    return artifact


INTEGRITY_OK, INTEGRITY_TAMPERED, INTEGRITY_MISSING = "ok", "tampered", "missing"


def artifact_integrity(model_dir: Path, manifest: dict, digest=sha256_file) -> tuple[str, str | None]:
    """The artifact checked against its manifest without loading it: ("ok", None), ("tampered",
    problem) when its sha256 differs, ("missing", problem) when the file or the recorded sha256 is
    missing. `digest` computes a file's sha256 (a caller may cache it)."""
    artifact = model_dir / manifest.get("artifact", {}).get("file", ARTIFACT)
    expected = manifest.get("artifact", {}).get("sha256")
    if not artifact.is_file():
        return INTEGRITY_MISSING, f"the artifact {artifact.name} is missing"
    if not expected:
        return INTEGRITY_MISSING, f"{MANIFEST} records no sha256 for the artifact"
    if digest(artifact) != expected:
        return INTEGRITY_TAMPERED, (f"the sha256 of {artifact.name} does not match {MANIFEST}: the file was changed "
                                    f"or corrupted after training; it will not be loaded")
    return INTEGRITY_OK, None


def load_verified(model_dir: Path) -> tuple[object, dict]:
    manifest = read_manifest(model_dir)
    artifact = verify_artifact(model_dir, manifest)
    return joblib.load(artifact), manifest


# --- the registry of versions under the models directory ----------------------------------------

def list_versions(root: Path) -> list[dict]:
    """Manifests of every model directory under root, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in sorted(root.iterdir()):
        if (child / MANIFEST).is_file():
            try:
                found.append(read_manifest(child))
            except ArtifactError:
                continue
    return sorted(found, key=lambda m: m.get("created_at", ""))


def active_version(root: Path) -> str | None:
    pointer = root / ACTIVE
    if pointer.is_file():
        version = pointer.read_text(encoding="utf-8").strip()
        return version or None
    return None


def set_active(root: Path, version: str) -> None:
    if not (root / version / MANIFEST).is_file():
        raise ArtifactError(f"no model version '{version}' in {root}")
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".ACTIVE.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(version + "\n")
    os.replace(tmp, root / ACTIVE)
