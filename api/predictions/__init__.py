"""Predictions: POST /v1/triage, the model in this process or in model processes, guidance cards."""
