"""Loading the spaCy pipeline once, with the triage components added."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import spacy
from spacy.language import Language

import triage.cues  # noqa: F401  (registers the triage_cues factory)
import triage.red_flags  # noqa: F401  (registers the triage_red_flags factory)

# Components of the Dutch pipelines that triage does not read: the fine-grained tagger (POS and
# morphology come from the morphologizer), the attribute ruler (in the Dutch pipelines it only
# relabels whitespace tokens, which triage skips) and NER (person names are redacted elsewhere).
UNUSED_COMPONENTS = ("tagger", "attribute_ruler", "ner")


class PipelineError(RuntimeError):
    """The spaCy pipeline is missing or not the one a model was trained with."""


@dataclass(frozen=True)
class PipelineInfo:
    name: str      # the package name, e.g. "nl_core_news_sm"
    version: str   # the package's meta version

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


_lock = threading.Lock()
_cache: dict[str, Language] = {}


def load_pipeline(name: str) -> Language:
    """The named pipeline with triage's components; loaded once per process."""
    with _lock:
        nlp = _cache.get(name)
        if nlp is None:
            try:
                nlp = spacy.load(name, exclude=[c for c in UNUSED_COMPONENTS])
            except OSError as exc:
                raise PipelineError(
                    f"spaCy pipeline '{name}' is not installed. Run scripts/setup.sh, or install it and set "
                    f"TRIAGE_SPACY_MODEL to its package name."
                ) from exc
            nlp.add_pipe("triage_red_flags", last=True)
            nlp.add_pipe("triage_cues", last=True)
            _cache[name] = nlp
        return nlp


_zone_locks: dict[int, threading.Lock] = {}


@contextmanager
def transient(nlp: Language) -> Iterator[None]:
    """A block whose texts leave nothing behind in the pipeline. spaCy adds every new word it reads
    (names, places, typos of a chat) to the Vocab and StringStore shared by all later Docs; a
    long-running server would keep every word of every chat, and grow without bound. spaCy's
    memory zone (3.8+) evicts what was added during the block at its end, so Docs made inside
    must not be used after it. Zones must not overlap on one Vocab: one block at a time per
    pipeline (a hot swap can warm up a new model while the old one predicts)."""
    with _lock:
        zone_lock = _zone_locks.setdefault(id(nlp), threading.Lock())
    with zone_lock, nlp.memory_zone():
        yield


def pipeline_info(nlp: Language, name: str) -> PipelineInfo:
    return PipelineInfo(name=name, version=str(nlp.meta.get("version", "unknown")))
