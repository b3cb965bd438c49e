"""Model backends behind a protocol (triage/backends/): the registry by name, the linear backend as
the artifacts of today hold it, and a second backend trained on the fly through `train()`, loaded
through TriageModel and predicted with, without any code that knows which backend it is."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.helpers import sample_training_split
from triage.artifacts import MANIFEST, ArtifactError, read_manifest, write_json_atomic
from triage.backends import BACKENDS, Backend, backend_class, make_backend, manifest_backend
from triage.backends.linear import LinearBackend
from triage.backends.naive_bayes import NaiveBayesBackend
from triage.labels import EXPLAINED_HEADS, HEAD_REGISTRY
from triage.model import TriageModel
from triage.prediction import Prediction

TEXTS = [
    "hij heeft me net gewurgd en staat nu met een mes in de keuken, ik ben bang",
    "ik ben 14 en mn vader slaat mn moeder elke avond, ik durf niet naar huis",
    "als docent maak ik me zorgen om een leerling, hoe meld ik dat?",
    "my husband hits me and takes all my money, what can I do",
]


def test_the_registry_names_the_backends_and_refuses_others():
    assert backend_class("linear") is LinearBackend and backend_class("naive_bayes") is NaiveBayesBackend
    assert all(backend_class(name).name == name for name in BACKENDS)
    with pytest.raises(ValueError, match="backend: unknown backend 'bert'; known: linear, naive_bayes"):
        make_backend("bert")
    # manifests written before backends existed are linear
    assert manifest_backend({}) == "linear" and manifest_backend({"backend": "naive_bayes"}) == "naive_bayes"


def test_artifacts_from_before_backends_load_as_the_linear_backend(active_model):
    from triage.estimator import TriageEstimator

    assert TriageEstimator is LinearBackend  # the name old pickles refer to
    assert isinstance(active_model.backend, LinearBackend) and isinstance(active_model.backend, Backend)
    assert manifest_backend(active_model.manifest) == "linear"


@pytest.fixture(scope="module")
def nb_model_dir(tmp_path_factory):
    """A naive Bayes model trained through training.train.train on a small slice of the seed corpus."""
    from training.train import train

    tmp = tmp_path_factory.mktemp("nb")
    data = tmp / "slice.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text, **e.labels()}, ensure_ascii=False) + "\n"
                            for e in sample_training_split(12, seed=5)), encoding="utf-8")
    return train(data=[data], out=tmp / "model", backend="naive_bayes")


def test_a_second_backend_trains_records_itself_and_predicts_through_triage_model(nb_model_dir):
    manifest = read_manifest(nb_model_dir)
    assert manifest["backend"] == "naive_bayes" and manifest["estimator"] == {"alpha": 0.1, "cv": 3,
                                                                              "random_state": 0}
    model = TriageModel.load(nb_model_dir)
    assert type(model.backend) is NaiveBayesBackend and isinstance(model.backend, Backend)
    predictions = model.predict(TEXTS)
    for raw in predictions:
        p = Prediction.model_validate(raw)
        assert p.model_dump(mode="json") == raw and p.model_version == manifest["version"]
        for head in HEAD_REGISTRY:  # every head scored, over its classes, as probabilities
            scores = raw["scores"][head.name]
            expected = {"true", "false"} if head.kind == "binary" else {str(c) for c in head.classes}
            assert set(scores) == expected and all(0.0 <= v <= 1.0 for v in scores.values())
    # the backend's explanation hook reaches the prediction: features for the label chosen
    assert all(raw["explanation"][head] for raw in predictions for head in EXPLAINED_HEADS)
    # it learnt something: the strangled opener is not "low", the teacher is a professional
    assert predictions[0]["urgency"] != "low" and predictions[2]["role"] == "professional"
    # the metrics of its evaluation sets were measured through the same path
    assert manifest["metrics"] and all(m["n"] > 0 for m in manifest["metrics"].values())


def test_the_manifest_and_the_artifact_must_name_the_same_backend(nb_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(nb_model_dir, copy)
    manifest = read_manifest(copy)
    del manifest["backend"]  # now it claims to be linear (the default)
    write_json_atomic(copy / MANIFEST, manifest)
    with pytest.raises(ArtifactError, match="backend: the manifest names 'linear' but the artifact holds "
                                            "'naive_bayes'"):
        TriageModel.load(copy)


def test_out_of_fold_probabilities_come_from_models_that_did_not_see_the_opener(nlp):
    """The generic out-of-fold pass (refit per fold) gives each opener scores from the fold without it:
    a duplicate of a training opener scores like the fold that lacked it, not like the full model."""
    from sklearn.model_selection import StratifiedKFold

    sample = sample_training_split(6, seed=11)
    docs = list(nlp.pipe([e.text for e in sample]))
    labels = {h.name: [getattr(e, h.name) for e in sample] for h in HEAD_REGISTRY}
    backend = NaiveBayesBackend().fit(docs, labels)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(docs)), labels["role"]))
    oof = backend.out_of_fold_proba(docs, labels, splits, ["role", "urgency"])
    full = backend.predict_proba(docs)
    for head in ("role", "urgency"):
        assert oof[head].shape == full[head].shape
        np.testing.assert_allclose(oof[head].sum(axis=1), 1.0, atol=1e-6)
        assert not np.allclose(oof[head], full[head])  # not the full model's own scores
    train_idx, test_idx = splits[0]
    fold = NaiveBayesBackend().fit([docs[i] for i in train_idx],
                                   {h: [v[i] for i in train_idx] for h, v in labels.items()})
    np.testing.assert_allclose(oof["role"][test_idx], fold.predict_proba([docs[i] for i in test_idx])["role"])


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_the_service_serves_a_second_backends_model_as_it_is(nb_model_dir, tmp_path):
    """No api/ code knows the backend: the service answers with the naive Bayes model's prediction."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.schemas import TriageResponse
    from service.helpers import KEYS, make_settings
    from triage.guidance import load_cards

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", model_dir=nb_model_dir.parent)
    model = TriageModel.load(nb_model_dir, settings)
    with TestClient(create_app(settings, model=model, cards=load_cards())) as client:
        r = client.post("/v1/triage", json={"text": TEXTS[0]}, headers={"Authorization": f"Bearer {KEYS['queue']}"})
    assert r.status_code == 200, r.text
    body = TriageResponse.model_validate(r.json())
    assert body.model_version == read_manifest(nb_model_dir)["version"]
    assert body.scores == model.predict_one(TEXTS[0])["scores"]
