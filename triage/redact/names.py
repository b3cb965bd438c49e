"""Names: deduce's person and street spans, plus the chat context rules deduce lacks, and social
handles."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from triage.redact.engine import Engine, engine
from triage.redact.places import UNITS_AFTER
from triage.redact.spans import MASK, Span, free
from triage.redact.words import (CAPITAL_PARTICLES, FOREIGN_PARTICLES, GREETINGS, INTERFIXES, INTRO,
                                 NAME_FOLLOWERS, NOT_NAMES, ORGANISATIONS, PARTICLES, REGIONS, RELATIONS, TITLES)

_LETTER = r"[^\W\d_]"
_WORD_RE = re.compile(rf"{_LETTER}(?:{_LETTER}|['’-]{_LETTER})*")


_HANDLE_RE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")


def find_handles(text: str) -> Iterable[Span]:
    for m in _HANDLE_RE.finditer(text):
        yield "NAAM", m.start(), m.end()


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]


def _joined(text: str, a: tuple[str, int, int], b: tuple[str, int, int], allow_comma: bool = False) -> bool:
    """True when only spaces (or a comma) stand between two tokens: not across sentences."""
    gap = text[a[2]:b[1]]
    return bool(re.fullmatch(r"\s*,?\s*" if allow_comma else r"\s+", gap)) and MASK not in gap


_STREETLIKE = re.compile(r"(?i)\w\w(straat|laan|weg|plein|gracht|kade|singel|steeg|dreef|plantsoen)$")
_SENTENCE_GAP = re.compile(r"[!?;:\n]|(?<=\w\w)\.\s")  # not after an initial ("J. de Vries")
_CONJUNCTIONS = frozenset("en maar want dat omdat toen als ook dus".split())


def _name_like(word: str, eng: Engine, lower_ok: bool = True) -> bool:
    w = word.lower()
    if w in eng.common or (w in eng.places and w not in eng.all_first_names) or _STREETLIKE.search(w):
        return False
    if len(word) > 1 and word.isupper():  # shouting: "MIJN VADER SLAAT ME"
        return w in eng.all_first_names
    if word[0].isupper():
        return len(word) > 1
    return lower_ok and w in eng.first_names


def _surname_ok(word: str) -> bool:
    """A capitalised word after an interfix or title is a surname even when it is also a place or
    an ordinary word ("de Vries", "de Boer", "van Dam")."""
    return word[0].isupper() and len(word) > 1 and word.lower() not in NOT_NAMES | ORGANISATIONS | REGIONS


def _known_first_name(word: str, eng: Engine) -> bool:
    """In deduce's first-name list: any case for capitalised words, unambiguous ones in lower case."""
    return word.lower() in (eng.all_first_names if word[0].isupper() else eng.first_names)


def _extend_name(text: str, toks: list[tuple[str, int, int]], j: int, eng: Engine) -> int:
    """Index of the last token of the name starting at j: surnames with interfixes ("van Dijk")."""
    end = j
    k = j + 1
    after_interfix = False
    while k < len(toks) and _joined(text, toks[k - 1], toks[k]):
        word = toks[k][0]
        if word.lower() in INTERFIXES and word.islower():
            k, after_interfix = k + 1, True
            continue
        if _surname_ok(word) if after_interfix else word[0].isupper() and _name_like(word, eng, lower_ok=False):
            end, k, after_interfix = k, k + 1, False
            continue
        break
    return end


def _sentence_start(text: str, toks: list[tuple[str, int, int]], i: int) -> bool:
    return i == 0 or bool(_SENTENCE_GAP.search(text, toks[i - 1][2] - 2, toks[i][1]))


def _context_names(text: str, eng: Engine) -> Iterable[Span]:
    toks = _tokens(text)
    lows = [t[0].lower() for t in toks]
    for i, low in enumerate(lows):
        found: list[tuple[int, int]] = []  # (first token, token the surname search starts from)
        nxt = i + 1 < len(toks) and _joined(text, toks[i], toks[i + 1], allow_comma=True)
        if nxt and low in RELATIONS and _name_like(toks[i + 1][0], eng):
            found.append((i + 1, i + 1))
        # Greetings and "ik ben" are followed by many other words ("ik ben bang"): known names only.
        if nxt and low in GREETINGS and _known_first_name(toks[i + 1][0], eng):
            found.append((i + 1, i + 1))
        if nxt and low in TITLES:
            j = i + 1
            while j < len(toks) - 1 and lows[j] in INTERFIXES and _joined(text, toks[j], toks[j + 1]):
                j += 1
            word = toks[j][0]
            # After a title a capitalised common word is a surname ("mevrouw de Boer"), and so is a
            # place after an interfix; a place right after a title is not ("meneer in Zutphen").
            if _name_like(word, eng) or (_surname_ok(word) and lows[j] not in TITLES
                                         and (j > i + 1 and lows[j - 1] in ("de", "den", "der", "van", "ter", "ten")
                                              or lows[j] not in eng.places)):
                found.append((i + 1, j))
        for intro in INTRO:
            n = len(intro)
            if (tuple(lows[i:i + n]) == intro and i + n < len(toks)
                    and _joined(text, toks[i + n - 1], toks[i + n], allow_comma=True)):
                word = toks[i + n][0]
                if _known_first_name(word, eng) if intro[-1] == "ben" else _name_like(word, eng):
                    found.append((i + n, i + n))
        # A lower-case known first name starting a clause, before a verb or possessive:
        # "fatima zei niks", "en julia haar vader".
        if (toks[i][0].islower() and low in eng.first_names and len(low) > 2 and i + 1 < len(toks)
                and lows[i + 1] in NAME_FOLLOWERS and _joined(text, toks[i], toks[i + 1])
                and (_sentence_start(text, toks, i) or lows[i - 1] in _CONJUNCTIONS)):
            found.append((i, i))
        for first, core in found:
            yield "NAAM", toks[first][1], toks[_extend_name(text, toks, core, eng)][2]
        yield from _particle_name(text, toks, lows, i, eng)


def _particle_name(text: str, toks: list[tuple[str, int, int]], lows: list[str], i: int,
                   eng: Engine) -> Iterable[Span]:
    """A surname introduced by its particles, with no first name or title before it: "el Amrani",
    "ait Said", "el amrani", "Van der Berg", "Ten Brink"."""
    word = toks[i][0]
    if lows[i] not in PARTICLES or (i > 0 and lows[i - 1] in PARTICLES and _joined(text, toks[i - 1], toks[i])):
        return  # not a particle, or not the first of a run
    j = i
    while j + 1 < len(toks) and lows[j + 1] in PARTICLES and _joined(text, toks[j], toks[j + 1]):
        j += 1
    if j + 1 >= len(toks) or not _joined(text, toks[j], toks[j + 1]):
        return
    surname = toks[j + 1][0]
    low = lows[j + 1]
    foreign = word.islower() and lows[i] in FOREIGN_PARTICLES
    capital = word[0].isupper() and (lows[i] in CAPITAL_PARTICLES or j > i)  # "Van der", "Van den"
    if not (foreign or capital):
        return
    if surname[0].isupper():
        ok = _surname_ok(surname) and low not in eng.places and low not in RELATIONS | TITLES | GREETINGS
    else:  # lower case only after a particle that is no Dutch word, and never an ordinary word
        ok = foreign and len(low) > 2 and low not in eng.common and low not in eng.places
    if ok:
        yield "NAAM", toks[i][1], toks[j + 1][2]


def deduce_spans(text: str, eng: Engine) -> Iterable[Span]:
    for tag, start, end in eng.annotations(text):
        # Place names and postcodes are off, so a location is a street from deduce's list with a
        # house number (deduce drops streets without one, then renames the tag to "locatie").
        if tag == "locatie" or "huisnummer" in tag:
            if not UNITS_AFTER.match(text, end) and text[start:end].split()[0].lower() not in eng.places:
                yield "ADRES", start, end
        if tag not in ("persoon", "patient"):
            continue
        words = _tokens(text[start:end])
        if any(w[0].lower() in ORGANISATIONS for w in words):
            continue
        # deduce joins names across ". " ("Engels. My"): judge each sentence part on its own.
        parts: list[list[tuple[str, int, int]]] = [[]]
        for w in words:
            if parts[-1] and _SENTENCE_GAP.search(text, start + parts[-1][-1][2] - 2, start + w[1]):
                parts.append([])
            parts[-1].append(w)
        for part in parts:
            yield from _deduce_name(text, start, part, eng)


def _deduce_name(text: str, offset: int, words: list[tuple[str, int, int]], eng: Engine) -> Iterable[Span]:
    # Drop titles at the edges ("Mevrouw [NAAM]" keeps the cue) and what is no part of a name.
    titled = False
    while words and (words[0][0].lower() in eng.prefixes or words[0][0].lower() in TITLES):
        words.pop(0)
        titled = True

    def part_of_name(k: int) -> bool:
        word = words[k][0]
        surname = (titled or k > 0 and words[k - 1][0] in INTERFIXES) and _surname_ok(word)
        return _name_like(word, eng, lower_ok=False) or surname or len(word) == 1

    while words and not part_of_name(0) and words[0][0] not in INTERFIXES:
        words.pop(0)
    while words and not part_of_name(len(words) - 1):
        words.pop()
    if not words:
        return
    name = " ".join(w[0] for w in words).lower()
    if name in eng.places and name not in eng.all_first_names:
        return
    if any(w[0][0].isupper() and (_name_like(w[0], eng, lower_ok=False) or titled and _surname_ok(w[0]))
           for w in words):
        yield "NAAM", offset + words[0][1], offset + words[-1][2]


def find_names(text: str) -> Iterable[Span]:
    return _context_names(text, engine())  # deduce's names are added in redact()


_PARTICLE_BEFORE = re.compile(r"(?i)(?<![\w'’-])(%s)\s+$" % "|".join(sorted(PARTICLES, key=len, reverse=True)))


def absorb_particles(text: str, spans: list[Span], others: list[Span]) -> list[Span]:
    """Particles in front of a name become part of it: between two names always ("Rachid al Hassan",
    "Karim ben Ali"); in front of one name when the run starts with a capitalised particle ("El
    Amrani", "Van der Berg") or with one that is no Dutch word ("ait Said"). Dutch words before a
    name stay ("de vader van Ahmed")."""
    out: list[Span] = []
    for kind, start, end in spans:
        pos, keep = start, start
        while m := _PARTICLE_BEFORE.search(text, max(0, pos - 12), pos):
            word = m.group(1)
            pos = m.start(1)
            if word[0].isupper() and word.lower() in CAPITAL_PARTICLES | {"van", "de"} \
                    or word.islower() and word.lower() in FOREIGN_PARTICLES:
                keep = pos
        # pos: where the particle run before the name starts (start itself when there is none)
        gap = text[out[-1][2]:pos] if out else None
        if gap is not None and re.fullmatch(r"[ \t]*", gap) and (pos < start or gap) \
                and free(others, out[-1][2], start):
            out[-1] = (out[-1][0], out[-1][1], end)  # names apart only by spaces or particles: one name
            continue
        if keep < start and free(others, keep, start):
            start = keep
        out.append((kind, start, end))
    return out


def merge_names(spans: list[Span]) -> list[Span]:
    """Union of overlapping name spans (deduce and the context rules may each see part of one)."""
    merged: list[list[Any]] = []
    for kind, s, e in sorted(spans, key=lambda sp: (sp[1], sp[2])):
        if merged and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([kind, s, e])
    return [(k, s, e) for k, s, e in merged]
