"""Fixtures for the model tests: the real spaCy pipeline and the active trained model."""

from __future__ import annotations

import pytest

from triage.settings import get_settings


@pytest.fixture(scope="session")
def nlp():
    from triage.nlp import load_pipeline

    return load_pipeline(get_settings().spacy_model)


@pytest.fixture(scope="session")
def active_model():
    """The model scripts/setup.sh trained on the seed corpus (the one users get by default)."""
    from triage.artifacts import ArtifactError
    from triage.model import TriageModel

    try:
        return TriageModel.load()
    except ArtifactError as exc:  # pragma: no cover - set-up problem, not a test result
        pytest.fail(f"no usable active model ({exc}); run scripts/setup.sh first")
