"""End to end through the `triage` command: train on a small sample, predict, evaluate, refuse."""

from __future__ import annotations

import json

import pytest

from model.helpers import run_triage as triage
from model.helpers import sample_training_split
from training.data import CHALLENGE
from triage.settings import get_settings


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A model trained through the CLI on ~25 % of the seed training split."""
    tmp = tmp_path_factory.mktemp("cli")
    sample = sample_training_split(30, seed=3)
    data = tmp / "sample.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text, **e.labels()}, ensure_ascii=False) + "\n"
                            for e in sample), encoding="utf-8")
    out = tmp / "model"
    proc = triage("train", "--data", str(data), "--eval", str(CHALLENGE), "--out", str(out))
    assert "fitting features" in proc.stderr  # progress is shown
    return out


def test_train_writes_a_versioned_verified_model(small_model):
    manifest = json.loads((small_model / "manifest.json").read_text())
    assert (small_model / "model.joblib").stat().st_size == manifest["artifact"]["bytes"]
    assert len(manifest["artifact"]["sha256"]) == 64
    assert manifest["spacy_pipeline"]["name"] == get_settings().spacy_model
    assert manifest["data"]["per_source"] == {"sample": manifest["data"]["n_train"]}
    assert set(manifest["libraries"]) >= {"scikit-learn", "spacy", "python"}
    challenge = manifest["metrics"]["challenge"]
    assert set(challenge["role"]["per_class"]) == {"victim", "bystander", "perpetrator", "professional", "unknown"}
    report = (small_model / "report.html").read_text()
    assert "data:image/png;base64," in report and "challenge" in report


def test_predict_round_trip(small_model, tmp_path):
    lines = [
        {"id": "a1", "text": "hij heeft zijn handen om mijn keel en hij is er nog", "channel": "chat"},
        {"id": "a2", "text": "hoi"},
        {"id": "bad1"},
        "{not json",
        {"id": "bad2", "text": "x" * 5001},
        {"id": "a3", "text": "ik ben 14 en mn stiefvader zit aan me"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    target = tmp_path / "out.jsonl"
    proc = triage("predict", "--model", str(small_model), "--input", str(source), "--output", str(target), check=False)
    assert proc.returncode == 1  # some lines were bad
    out = [json.loads(l) for l in target.read_text().splitlines()]
    assert len(out) == len(lines)  # nothing accepted is lost, every line answered in order
    good = [o for o in out if "error" not in o]
    assert [o["id"] for o in good] == ["a1", "a2", "a3"]
    assert good[0]["channel"] == "chat"  # passed through
    for o in good:
        assert o["role"] in {"victim", "bystander", "perpetrator", "professional", "unknown"}
        assert isinstance(o["minor"], bool)
        assert o["urgency"] in {"acute", "high", "normal", "low"}
        assert abs(sum(o["scores"]["role"].values()) - 1) < 1e-3
        assert abs(sum(o["scores"]["urgency"].values()) - 1) < 1e-3
        assert set(o) >= {"topics", "red_flags", "needs_review", "language", "model_version", "explanation"}
    assert good[0]["urgency"] == "acute"  # strangulation now: the red flag raises it whatever the model says
    assert any(f["cue"] == "strangulation" for f in good[0]["red_flags"])
    errors = {o.get("id", o["line"]): o["error"] for o in out if "error" in o}
    assert "field 'text' is required" in errors["bad1"]
    assert "not valid JSON" in errors[4]
    assert "limit is 5000" in errors["bad2"]
    assert "text" not in out[4] and "xxxxxxxx" not in json.dumps(out[4])  # error records do not echo the text


def test_predict_stdin_stdout(small_model):
    proc = triage("predict", "--model", str(small_model), input_text='{"text": "ik sla mijn vrouw soms"}\n')
    (line,) = proc.stdout.splitlines()
    assert json.loads(line)["model_version"] == json.loads((small_model / "manifest.json").read_text())["version"]


def test_evaluate_json(small_model):
    proc = triage("evaluate", "--model", str(small_model), "--data", str(CHALLENGE), "--json")
    metrics = json.loads(proc.stdout)
    assert metrics["n"] == sum(1 for l in CHALLENGE.read_text().splitlines() if l.strip())
    assert 0 <= metrics["urgency"]["acute_recall"] <= 1
    text = triage("evaluate", "--model", str(small_model), "--data", str(CHALLENGE)).stdout
    assert "acute recall" in text and "professional" in text
    # beside the model: the plain baseline trained on the same data, and where the errors are
    assert metrics["baseline"]["n"] == metrics["n"] and "acute_precision" in metrics["baseline"]["urgency"]
    assert {"length", "register", "language"} <= set(metrics["breakdown"])
    assert sum(g["n"] for g in metrics["breakdown"]["length"].values()) == metrics["n"]
    assert "model vs plain baseline" in text and "by length" in text and "acute precision" in text


def test_model_records_deployment_priors_and_a_verified_baseline(small_model, tmp_path):
    import shutil

    from triage.priors import DEFAULT_PRIORS

    manifest = json.loads((small_model / "manifest.json").read_text())
    assert manifest["priors"]["deployment_priors"] == DEFAULT_PRIORS
    assert manifest["tuning"]["acute_alert_budget"] == manifest["acute_alert_budget"]
    assert len(manifest["baseline"]["sha256"]) == 64
    tampered = tmp_path / "model"
    shutil.copytree(small_model, tampered)
    with open(tampered / "baseline.joblib", "ab") as fh:
        fh.write(b"x")
    proc = triage("evaluate", "--model", str(tampered), "--data", str(CHALLENGE), check=False)
    assert proc.returncode != 0 and "baseline.joblib" in proc.stderr and "sha256" in proc.stderr


def test_bad_training_data_trains_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hoi", "role": "victim", "minor": "no", "urgency": "low", "topics": []}\n')
    out = tmp_path / "never"
    proc = triage("train", "--data", str(bad), "--out", str(out), check=False)
    assert proc.returncode == 2
    assert "bad.jsonl:1: field 'minor'" in proc.stderr
    assert not out.exists()


def test_tampered_artifact_is_refused(small_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_model, copy)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"\0")
    proc = triage("predict", "--model", str(copy), input_text='{"text": "hoi"}\n', check=False)
    assert proc.returncode == 2
    assert "does not match the manifest" in proc.stderr


def test_other_spacy_pipeline_is_refused(small_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["spacy_pipeline"]["name"] = "nl_core_news_lg"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    proc = triage("predict", "--model", str(copy), input_text='{"text": "hoi"}\n', check=False)
    assert proc.returncode == 2
    assert "trained with spaCy pipeline 'nl_core_news_lg'" in proc.stderr
