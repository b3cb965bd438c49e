"""Training data, training, evaluation and reports for triage models."""
