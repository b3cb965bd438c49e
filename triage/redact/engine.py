"""The deduce engine, loaded once, with the lists the rules need from it."""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from triage.redact.words import (AMBIGUOUS_LOWER, BE_PLACES, GREETINGS, INTERFIXES, NOT_NAMES, ORGANISATIONS,
                                 REGIONS, RELATIONS, TITLES)

# deduce's lists read through its own loader (items minus exceptions, sub-lists merged). Its built
# lookup structures are not used for these two: the first-name trie drops names that are also
# medical or common words ("amine", "adem") and splits hyphenated ones, the place trie adds
# spelling variants; both would change what is redacted.
_FIRST_NAME_LIST = "names/lst_first_name"
_PLACE_LISTS = tuple(f"locations/lst_placename/lst_{s}" for s in ("residence", "municipality", "province", "region"))


def _lower(items: Iterable[str]) -> set[str]:
    return {s.lower() for s in items if s}


# deduce processors for names and streets only: its dates, phones, ages etc. are replaced by the
# detectors of this package (they are tuned for medical notes), and its place names would remove cities.
_DEDUCE_ENABLED = frozenset({
    "names", "prefix_with_initial", "prefix_with_interfix", "prefix_with_name", "interfix_with_name",
    "initial_with_name", "initial_interfix", "first_name_lookup", "surname_lookup", "name_context",
    "eponymous_disease", "person_annotation_converter",
    "locations", "street_pattern", "street_lookup", "housenumber", "remove_street_tags", "clean_street_tags",
    "post_processing", "overlap_resolver", "merge_adjacent_annotations",
})


class Engine:
    def __init__(self) -> None:
        import deduce  # here, not at import: loading takes seconds

        # deduce's lookup tables are ~4.5 million small objects that live as long as the process.
        # Collections while they load triple the load time; afterwards a full collection would walk
        # them all (seconds per pause, ~20 s at interpreter exit). So: no collection while loading,
        # then move them to the permanent generation (gc.freeze, as pre-fork servers do).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.deduce = _new_deduce(deduce)
        finally:
            gc.freeze()
            if was_enabled:
                gc.enable()
        self.lock = threading.Lock()
        from deduce.lookup_structs import load_raw_itemsets

        lookup = self.deduce.lookup_structs  # the raw common and stop words, the prefixes as built
        common = _lower(lookup["common_word"]) | _lower(lookup["stop_word"])
        self.common = frozenset(common | NOT_NAMES | ORGANISATIONS | REGIONS | RELATIONS | TITLES | GREETINGS
                                | INTERFIXES)
        raw = load_raw_itemsets(self.deduce.lookup_data_path, [_FIRST_NAME_LIST, *_PLACE_LISTS])
        # all_first_names for capitalised words, first_names for lower-case ones (no ordinary words)
        self.all_first_names = frozenset(_lower(raw["first_name"]) - self.common)
        self.first_names = frozenset(self.all_first_names - AMBIGUOUS_LOWER)
        self.prefixes = frozenset(_lower(lookup["prefix"]))
        places = set().union(*(_lower(raw[name.rsplit("/lst_", 1)[1]]) for name in _PLACE_LISTS))
        self.places = frozenset(places | BE_PLACES | REGIONS)

    def annotations(self, text: str) -> list[tuple[str, int, int]]:
        out = []
        for start, end in _chunks(text):
            with self.lock:  # deduce does not promise thread safety; a call takes about a millisecond
                doc = self.deduce.deidentify(text[start:end], enabled=set(_DEDUCE_ENABLED))
            out += [(a.tag, start + a.start_char, start + a.end_char) for a in doc.annotations]
        return out


_CHUNK = 200
_CHUNK_END = re.compile(r"[.!?\n]\s+")


def _chunks(text: str) -> Iterable[tuple[int, int]]:
    """Sentence-bounded pieces of at most about _CHUNK characters: deduce's name context grows
    worse than linearly on long runs of names (seconds for a few kB), a sentence bounds it."""
    start = 0
    while len(text) - start > _CHUNK:
        cut = max((m.end() for m in _CHUNK_END.finditer(text, start, start + _CHUNK)), default=-1)
        if cut <= start:
            cut = text.rfind(" ", start, start + _CHUNK) + 1
            if cut <= start:
                cut = start + _CHUNK
        yield start, cut
        start = cut
    yield start, len(text)


def _new_deduce(deduce):
    """deduce.Deduce(), safe when several processes start at once (workers, instances, a test suite).

    On a fresh install deduce builds its lookup cache on first use and writes the file in place, not
    atomically: a process starting meanwhile reads a half-written file and fails, and the broken file
    then breaks every later start. So the load holds an exclusive lock on a file beside the cache (a
    few seconds once the cache exists; processes wait for the one that builds it), and a cache that
    cannot be read is built anew. Without a writable lock file (a read-only install, where setup built
    the cache) it loads without the lock."""
    import fcntl
    import pickle
    from deduce.deduce import _LOOKUP_LIST_PATH

    try:
        lock = open(Path(_LOOKUP_LIST_PATH) / ".triage-cache.lock", "a")  # noqa: SIM115 - held while loading
    except OSError:
        lock = None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return deduce.Deduce()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError):
            # an unreadable cache (a half-written file from before this lock): build and save it again
            return deduce.Deduce(build_lookup_structs=True)
    finally:
        if lock is not None:
            lock.close()  # releases the lock


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = Engine()
    return _ENGINE


def load() -> None:
    """Load deduce now (a service calls this at start-up so the first chat is not slow)."""
    engine()
