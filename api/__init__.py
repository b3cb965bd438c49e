"""The triage HTTP service: triage, the advisor queue, guidance cards (FastAPI)."""
