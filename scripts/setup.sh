#!/usr/bin/env bash
# Installs everything triage needs into ./.venv (idempotent), including the spaCy pipeline,
# and trains the default model if none is active. Safe to run again.
#
#   TRIAGE_SPACY_MODEL  pipeline to use (default: nl_core_news_sm, spaCy's official Dutch pipeline)
#   TRIAGE_SPACY_WHEEL  path or URL of a pipeline wheel to install instead of downloading
#   TRIAGE_SKIP_TRAIN=1 do not train the default model
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ needed"' || {
  echo "setup: Python 3.11 or newer is required (found $("$PY" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VPY" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
echo "setup: installing triage and its dependencies"
"$VPY" -m pip install --quiet -e ".[test]"

# --- the spaCy pipeline -------------------------------------------------------------------
# The configured pipeline is TRIAGE_SPACY_MODEL from the environment, else from .env, else the
# official nl_core_news_sm. If that cannot be installed here, the stand-in wheel in ../shared is
# used and recorded in .env so every later command uses the same pipeline.
env_model() { [ -f .env ] && sed -n 's/^TRIAGE_SPACY_MODEL=//p' .env | tail -n1 || true; }
PIPELINE=${TRIAGE_SPACY_MODEL:-$(env_model)}
PIPELINE=${PIPELINE:-nl_core_news_sm}
has_pipeline() { "$VPY" -c "import spacy, sys; spacy.util.get_package_path('$1')" >/dev/null 2>&1; }
record_pipeline() {
  touch .env
  grep -v '^TRIAGE_SPACY_MODEL=' .env > .env.tmp || true
  echo "TRIAGE_SPACY_MODEL=$1" >> .env.tmp && mv .env.tmp .env
}

if [ -n "${TRIAGE_SPACY_WHEEL:-}" ]; then
  echo "setup: installing spaCy pipeline from $TRIAGE_SPACY_WHEEL"
  "$VPY" -m pip install --quiet "$TRIAGE_SPACY_WHEEL"
fi
if has_pipeline "$PIPELINE"; then
  echo "setup: spaCy pipeline '$PIPELINE' is installed"
else
  installed=""
  if [ "$PIPELINE" = "nl_core_news_sm" ]; then
    echo "setup: trying to download spaCy's nl_core_news_sm"
    if timeout 180 "$VPY" -m spacy download nl_core_news_sm >/dev/null 2>&1 && has_pipeline nl_core_news_sm; then
      installed=nl_core_news_sm
    fi
  fi
  if [ -z "$installed" ]; then
    WHEEL=$(ls "$ROOT"/../shared/wheels/nl_ud_sm-*.whl 2>/dev/null | tail -n1 || true)
    if [ -n "$WHEEL" ]; then
      echo "setup: '$PIPELINE' is not available here; installing the stand-in pipeline $(basename "$WHEEL")"
      "$VPY" -m pip install --quiet "$WHEEL"
      installed=nl_ud_sm
    else
      echo "setup: spaCy pipeline '$PIPELINE' is not installed and could not be downloaded." >&2
      echo "       Give a wheel with TRIAGE_SPACY_WHEEL=/path/or/url.whl and run again." >&2
      exit 1
    fi
  fi
  PIPELINE=$installed
  record_pipeline "$PIPELINE"
  echo "setup: using spaCy pipeline '$PIPELINE' (recorded in .env)"
fi
if [ -n "${TRIAGE_SPACY_MODEL:-}" ] && [ "$TRIAGE_SPACY_MODEL" != "$PIPELINE" ]; then
  echo "setup: note: TRIAGE_SPACY_MODEL=$TRIAGE_SPACY_MODEL is set in your environment but '$PIPELINE' was installed" >&2
fi

# --- deduce's lookup cache ------------------------------------------------------------------
# Built once here (about a minute on a fresh install), so that servers and tests starting at the same
# time never build it themselves (triage/redact/engine.py also serialises and repairs it).
"$VPY" -c "from triage.redact.engine import load; load()" || { echo "setup: deduce could not be loaded" >&2; exit 1; }

# --- the default model --------------------------------------------------------------------
if [ "${TRIAGE_SKIP_TRAIN:-0}" != "1" ]; then
  if "$VPY" -m triage_cli.main models active >/dev/null 2>&1; then
    echo "setup: active model: $("$VPY" -m triage_cli.main models active)"
  else
    echo "setup: no usable model yet; training the default model on the seed corpus"
    "$VPY" -m triage_cli.main train
  fi
fi
echo "setup: done"
