"""Transcripts as training data, model comparison and the quality gate, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.helpers import ROOT, sample_training_split
from model.helpers import run_triage as triage


def write_transcripts(path: Path, examples) -> None:
    """Labelled transcripts whose opener is the example's text split over two client messages."""
    lines = []
    for e in examples:
        words = e.text.split()
        half = max(1, len(words) // 2)
        messages = [{"from": "client", "text": " ".join(words[:half]), "at": "2026-11-02T10:00:00+00:00"}]
        if words[half:]:
            messages.append({"from": "client", "text": " ".join(words[half:])})
        messages += [{"from": "advisor", "text": "Fijn dat je ons schrijft. Ben je nu veilig?"},
                     {"from": "client", "text": "ja nu wel"}]
        lines.append(json.dumps({"id": f"t-{e.id}", "messages": messages, **e.labels()}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, active_model):
    """A models directory with a model trained on transcripts (the first, so active by training), a much
    weaker candidate, and the project's default model (copied in and activated through the gate: the
    good model the weak one is compared with)."""
    tmp = tmp_path_factory.mktemp("registry")
    root = tmp / "models"
    env = {"TRIAGE_MODEL_DIR": str(root)}
    transcripts = sample_training_split(40, seed=5)
    weak = sample_training_split(5, seed=5)
    write_transcripts(tmp / "transcripts.jsonl", transcripts)
    openers = tmp / "weak.jsonl"
    openers.write_text("".join(json.dumps({"text": e.text, **e.labels()}, ensure_ascii=False) + "\n" for e in weak),
                       encoding="utf-8")
    first = triage("train", "--data", str(tmp / "transcripts.jsonl"), env=env).stdout.strip().splitlines()[-1]
    second = triage("train", "--data", str(openers), env=env).stdout.strip().splitlines()[-1]
    active_after_training = (root / "ACTIVE").read_text().strip()
    good = active_model.version
    shutil.copytree(active_model.model_dir, root / good)
    triage("models", "activate", good, env=env)  # the default model passes the gate against the small one
    return {"root": root, "env": env, "good": good, "weak": Path(second).name, "transcripts": Path(first).name,
            "active_after_training": active_after_training, "tmp": tmp}


def test_transcripts_train_on_the_opener(registry):
    manifest = json.loads((registry["root"] / registry["transcripts"] / "manifest.json").read_text())
    assert manifest["data"]["transcripts"] == manifest["data"]["n_train"] > 0
    assert manifest["data"]["per_source"] == {"transcripts": manifest["data"]["n_train"]}
    # The first model of a registry becomes active; the second is not activated by training.
    assert registry["active_after_training"] == registry["transcripts"]


def test_transcript_validation_names_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"from": "advisor", "text": "hallo"}], "role": "unknown", "minor": False,
                               "urgency": "low"}) + "\n" +
                   json.dumps({"messages": [{"from": "cliënt", "text": "hoi"}], "role": "unknown", "minor": False,
                               "urgency": "low"}) + "\n")
    proc = triage("train", "--data", str(bad), "--out", str(tmp_path / "never"), check=False)
    assert proc.returncode == 2
    assert "bad.jsonl:1: field 'messages': there is no client text before the first advisor reply" in proc.stderr
    assert "bad.jsonl:2: field 'messages.0.from'" in proc.stderr
    assert not (tmp_path / "never").exists()


def test_compare_shows_both_models_and_fails_the_weak_one(registry):
    proc = triage("models", "compare", registry["weak"], "--json", env=registry["env"], check=False)
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert summary["active"] == registry["good"] and summary["candidate"] == registry["weak"]
    assert set(summary["sets"]) == {"held-out test split", "held-out real-register split", "challenge set"}
    assert not summary["passed"] and summary["failures"]
    good = summary["sets"]["challenge set"]["active"]["role_macro_f1"]
    weak = summary["sets"]["challenge set"]["candidate"]["role_macro_f1"]
    assert weak < good


def test_gate_refuses_then_force_needs_a_reason_and_is_logged(registry):
    root, env = registry["root"], registry["env"]
    refused = triage("models", "activate", registry["weak"], env=env, check=False)
    assert refused.returncode == 1 and "refusing to activate" in refused.stderr
    assert (root / "ACTIVE").read_text().strip() == registry["good"]
    no_reason = triage("models", "activate", registry["weak"], "--force", env=env, check=False)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    forced = triage("models", "activate", registry["weak"], "--force", "--reason", "test of the gate", env=env)
    assert "forced" in forced.stdout
    assert (root / "ACTIVE").read_text().strip() == registry["weak"]
    log = [json.loads(l) for l in (root / "activations.jsonl").read_text().splitlines()]
    assert log[-1]["version"] == registry["weak"] and log[-1]["forced"] and log[-1]["reason"] == "test of the gate"
    assert log[-1]["failures"]
    # Back to the good model: it passes the gate against the weak one.
    triage("models", "activate", registry["good"], env=env)
    assert (root / "ACTIVE").read_text().strip() == registry["good"]


def test_gold_records_are_compared_too(registry):
    gold = registry["tmp"] / "gold.jsonl"
    shutil.copy(ROOT / "training" / "data" / "challenge.jsonl", gold)
    proc = triage("models", "compare", registry["good"], "--against", registry["weak"], "--gold", str(gold), "--json",
                  env=registry["env"], check=False)
    summary = json.loads(proc.stdout)
    assert "reviewed gold records" in summary["sets"]
