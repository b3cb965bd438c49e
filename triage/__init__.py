"""triage: a triage assistant for the chat of a Dutch domestic-violence and child-abuse helpline."""

__version__ = "0.1.0"
