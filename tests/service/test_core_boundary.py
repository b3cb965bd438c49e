"""The service needs no training/: api/ imports nothing from it, and the app serves a prediction
and activates a model version when training/ cannot be imported at all (a server needs no corpus)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from service.helpers import API_KEYS_ENV, clone_model

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("training", "triage_cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, also those inside functions; relative imports
    are resolved against the package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module))
    return found


def _offending(roots: list[str], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            for line, module in _imports(path):
                if module.split(".")[0] in forbidden:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_api_imports_nothing_from_training():
    assert _offending(["api"], FORBIDDEN) == []


def test_core_imports_neither_api_nor_training():
    assert _offending(["triage"], ("api", *FORBIDDEN)) == []


def test_the_import_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    """The check must be able to fail: an import hidden in a function body is found."""
    fake = tmp_path / "api" / "hidden.py"
    fake.parent.mkdir()
    fake.write_text("def f():\n    from training.gate import activate\n    return activate\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _offending(["api"], FORBIDDEN) == ["api/hidden.py:2 imports training.gate"]


BLOCKER = '''
import sys


class RefuseTraining:
    """Makes training/ (and the CLI that imports it) unimportable, as on a server without it."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("training", "triage_cli"):
            raise ModuleNotFoundError(f"No module named {name!r} (refused by the test)", name=name)
        return None


sys.meta_path.insert(0, RefuseTraining())
'''

SERVE = '''
import sys
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from service.helpers import auth


def main():  # the gate's spawned process imports this file again: run only as a script
    try:
        import training  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("training/ was importable: the test would show nothing")

    settings = ApiSettings(data_dir=sys.argv[1], database_url=sys.argv[2], api_keys=sys.argv[3], model_dir=sys.argv[4],
                           model_processes=0)
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/triage", json={"text": "mijn man staat nu voor de deur met een mes"},
                        headers=auth("queue"))
        assert r.status_code == 200, r.text
        before = r.json()["model_version"]
        r = client.post("/v1/models/next/activate", headers=auth("admin"))
        assert r.status_code == 200, r.text
        assert r.json()["changed"] and r.json()["passed_gate"], r.json()
        r = client.post("/v1/triage", json={"text": "hoi, ik wil iets vragen"}, headers=auth("queue"))
        assert r.status_code == 200 and r.json()["model_version"] == "next", r.text
        assert not [m for m in sys.modules if m.split(".")[0] == "training"]
    print("served", before, "then next")


if __name__ == "__main__":
    main()
'''


@pytest.mark.slow
def test_service_predicts_and_activates_without_training(tmp_path, registry):
    """In a subprocess (and the gate's spawned process, through PYTHONPATH) training/ cannot be
    imported; the app factory starts, predicts, and activates a version behind the gate."""
    root, version = registry
    clone_model(root, version, "next")
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(SERVE), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT), str(ROOT / "tests")])}
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data"), f"sqlite:///{tmp_path / 'triage.db'}", API_KEYS_ENV,
         str(root)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith(f"served {version} then next")
    assert (root / "ACTIVE").read_text().strip() == "next"
