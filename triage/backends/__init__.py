"""Model backends by name (triage/backends/protocol.py says what one is).

Training chooses one (`triage train --backend NAME`) and records its name in the manifest
("backend"); a manifest without it is from before backends existed and means linear. Modules are
imported on first use, so a backend's libraries are needed only where it is used.
"""

from __future__ import annotations

from importlib import import_module

from triage.backends.protocol import Backend, Scored

DEFAULT_BACKEND = "linear"
BACKENDS: dict[str, str] = {
    "linear": "triage.backends.linear:LinearBackend",
    "naive_bayes": "triage.backends.naive_bayes:NaiveBayesBackend",
}

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Backend", "Scored", "backend_class", "make_backend", "manifest_backend"]


def backend_class(name: str) -> type:
    if name not in BACKENDS:
        raise ValueError(f"backend: unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(import_module(module), attr)


def make_backend(name: str = DEFAULT_BACKEND, **params) -> Backend:
    """A new, unfitted backend with its default parameters (or `params`)."""
    return backend_class(name)(**params)


def manifest_backend(manifest: dict) -> str:
    """The backend a model was trained with, from its manifest."""
    return manifest.get("backend", DEFAULT_BACKEND)
