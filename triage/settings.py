"""Settings shared by the CLI, the model and the service, read from TRIAGE_* environment variables.

A `.env` file in the working directory or in the project root is read too; `scripts/setup.sh`
records the spaCy pipeline it installed there.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.priors import DEFAULT_PRIORS, validate_priors

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPACY_MODEL = "nl_core_news_sm"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_",
        env_file=(PROJECT_ROOT / ".env", Path(".env")),
        extra="ignore",
    )

    spacy_model: str = Field(DEFAULT_SPACY_MODEL, description="spaCy pipeline package name")
    model_dir: Path = Field(PROJECT_ROOT / "models", description="directory of versioned models")
    data_dir: Path = Field(PROJECT_ROOT / "data", description="service data (database, keys)")

    # Decision thresholds for needs_review (see triage/decision.py).
    review_min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    review_min_margin: float = Field(0.1, ge=0.0, le=1.0)

    # Training-time settings, recorded in the model's manifest (see docs/model.md). The class priors
    # of the chats the deployment expects (JSON: {"urgency": {...}, "role": {...}}; estimates), and the
    # share of chats that may be called acute at those priors (the alert budget).
    deployment_priors: dict[str, dict[str, float]] = Field(default_factory=lambda: DEFAULT_PRIORS)
    acute_alert_budget: float = Field(0.08, gt=0.0, lt=1.0)

    @field_validator("deployment_priors")
    @classmethod
    def _priors(cls, v: dict) -> dict:
        return validate_priors(v)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
