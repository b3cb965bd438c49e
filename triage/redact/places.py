"""Detectors for where someone lives or learns: postcodes, street addresses, school names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from triage.redact.engine import engine
from triage.redact.spans import Span
from triage.redact.words import BE_PLACES, INTERFIXES, NOT_NAMES, NOT_POSTCODE_LETTERS, NOT_POSTCODE_UNITS, \
    ORGANISATIONS, REGIONS

_NL_POSTCODE_RE = re.compile(r"(?<![\w-])([1-9]\d{3}\s?([A-Za-z]{2}))(?!\w)(?:\s+([^\W\d_][\w'-]*))?")
_BE_POSTCODE_RE = re.compile(r"(?<![\w-])([1-9]\d{3})(?!\w)(?:\s+([^\W\d_][\w'-]*))?")
_POSTCODE_WORD = re.compile(r"(?i)post\s?code")


def find_postcodes(text: str) -> Iterable[Span]:
    eng = engine()

    def after_word(m: re.Match[str]) -> bool:
        return bool(_POSTCODE_WORD.search(text, max(0, m.start() - 20), m.start()))

    def before_place(word: str | None) -> bool:
        if not word:
            return False
        w = word.lower()
        return w in BE_PLACES or (word[0].isupper() and w in eng.places and w not in eng.common)

    for m in _NL_POSTCODE_RE.finditer(text):
        letters = m.group(2)
        # "1234 EN" is a postcode after "postcode" or before a place; "2009 en" never is, "3512de" is.
        stop = NOT_POSTCODE_LETTERS if len(m.group(1)) > 6 else NOT_POSTCODE_UNITS
        if letters.lower() not in stop or after_word(m) or (letters.isupper() and before_place(m.group(3))):
            yield "POSTCODE", m.start(1), m.end(1)
    # Belgian (and Dutch digits-only) codes: only before a place or after the word "postcode"; a
    # year before a Dutch place ("in 2019 Best") is not one.
    for m in _BE_POSTCODE_RE.finditer(text):
        place = m.group(2)
        year_like = m.group(1)[:2] in ("19", "20") and (place or "").lower() not in BE_PLACES
        if after_word(m) or (before_place(place) and not year_like):
            yield "POSTCODE", m.start(1), m.end(1)


_STREET_SUFFIX = (r"straat|str|laan|weg|plein|gracht|kade|singel|dijk|hof|pad|dreef|steeg|park|markt|"
                  r"baan|erf|wal|plantsoen|boulevard|allee|haven|ring|poort|burgwal|straatweg|dreve|lei|"
                  r"steenweg|kaai|vest")
_HOUSE_NO = (r"(?:(?:nr\.?|nummer)\s*)?\d{1,5}(?!\d)"
             r"(?:[a-zA-Z](?!\w)|\s[A-Z](?!\w)|[-/](?:\d{1,3}|[A-Za-z]{1,3}|hs|bis)(?!\w)|\s(?:hs|bis|I{1,3})(?!\w))?"
             r"(?:\s+bus\s+\d{1,4}(?!\d))?")
_STREET_RE = re.compile(
    rf"(?<![\w-])((?:[A-Z][\w'.-]*\s+|(?:van|de|der|den|het|'t|ter|ten|aan)\s+){{0,4}}"
    rf"[^\W\d_][\w'-]*?(?i:{_STREET_SUFFIX}))\s+({_HOUSE_NO})")
_PREFIX_STREET_RE = re.compile(
    rf"(?<![\w-])(?:Laan|Weg|Plein|Kade|Dijk|Singel|Gracht|Park|Hof|Straatweg)"
    rf"(?:\s+(?:van|der|de|den|het|'t|op|ten|ter|te))+(?:\s+[A-Z][\w'-]*){{1,3}}\s+{_HOUSE_NO}")
UNITS_AFTER = re.compile(r"(?i)\s*(?:uur|keer|jaar|jaren|min|minuten|km|kilometer|euro|dagen|weken|maanden|"
                          r"kinderen|mensen|personen|x|procent|%|years?|months?|weeks?|days?|hours?|times)(?!\w)")
_NOT_STREETS = frozenset("onderweg halfweg halverwege kerkhof".split())
# Capitalised words that start street names ("Lange Voorhout", "Prins Hendrikkade").
_STREET_WORDS = frozenset("""oude nieuwe lange korte hoge lage grote kleine noord zuid oost west sint st prins
prinses koning koningin burgemeester dokter generaal graaf kanaal""".split())


def find_addresses(text: str) -> Iterable[Span]:
    eng = engine()
    for m in _STREET_RE.finditer(text):
        street = m.group(1)
        # Leading interfixes and capitalised ordinary words belong to the sentence, not the street.
        words = list(re.finditer(r"\S+", street))
        k = 0
        while k < len(words) - 1 and (words[k].group() in INTERFIXES or (
                words[k].group().lower() in eng.common and words[k].group().lower() not in _STREET_WORDS | INTERFIXES)):
            k += 1
        last = words[-1].group().lower()
        if last in _NOT_STREETS or len(last) < 5 or UNITS_AFTER.match(text, m.end()):
            continue
        yield "ADRES", m.start(1) + words[k].start(), m.end()
    for m in _PREFIX_STREET_RE.finditer(text):
        yield "ADRES", m.start(), m.end()


# Schools: a child's school, with the class, finds the child. The kind of school alone ("op de
# basisschool", "het CBS zegt") is kept; its name is not.
_SCHOOL_ABBR_RE = re.compile(
    r"(?<![\w-])(?:(?:P?CBS|OBS|RK\s?BS|KBS|IBS|GBS|SBO|VSO|IKC|SO)\s+(?:(?:[Dd]e|[Hh]et|'t|[Dd]en)\s+)?"
    r"(?:Sint\s+|St\.?\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}"
    r"|(?:p?cbs|obs|rkbs|kbs|ibs|sbo|vso|ikc)\s+(?:de|het|'t|den)\s+[^\W\d_][\w'’-]+)(?![\w-])")
_SCHOOL_NOUN_RE = re.compile(
    r"(?<![\w-])(?i:basisschool|school|montessorischool|daltonschool|jenaplanschool|vrije\s+school|kindcentrum|"
    r"scholengemeenschap|praktijkschool|brede\s+school)\s+((?:[Dd]e|[Hh]et|'t|[Dd]en)\s+)?"
    r"((?:Sint\s+|St\.?\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})(?![\w-])")
_SCHOOL_KIND_RE = re.compile(
    r"(?<![\w-])((?:[A-Z][\w'’-]+\s+){1,3})(?:College|Lyceum|Gymnasium|Atheneum|Scholengemeenschap|Campus)"
    r"(?:\s+(?!(?:[Ii]k|[Hh]ij|[Zz]ij|[Zz]e|[Ww]ij|[Ww]e|[Mm]ijn|[Dd]e|[Hh]et)\b)[A-Z][\w'’-]+)?(?![\w-])")
_SCHOOL_COMPOUND_RE = re.compile(r"(?<![\w-])([A-Z][\w'’-]{3,}?)-?(?:college|lyceum|gymnasium|school)(?![\w-])")
# "een SO Wiskunde" is a test (schriftelijke overhoring), not a school.
_SCHOOL_SUBJECTS = frozenset("""wiskunde rekenen taal engels frans duits spaans geschiedenis aardrijkskunde biologie
natuurkunde scheikunde economie nederlands spelling topo topografie gym lezen begrijpend latijn grieks
informatica muziek tekenen""".split())
# Compounds that name a kind of school, not one school.
_GENERIC_SCHOOLS = frozenset("""montessori dalton jenaplan vrije basis middelbare brede hoge lagere kleuter
praktijk speciale muziek dans rij zwem zondags zondag nacht avond taal kook toneel internationale
christelijke openbare katholieke islamitische""".split())


def find_schools(text: str) -> Iterable[Span]:
    eng = engine()
    def named(words: list[str], article: bool, abbreviation: str = "") -> bool:
        # Without an article the name must be no ordinary word ("school Mijn vader ...", "een SO
        # Engels" is a test); an abbreviation after "school" is the school's own ("school OBS De Es").
        first = words[0].lower()
        return not (first in NOT_NAMES | ORGANISATIONS | REGIONS | _SCHOOL_SUBJECTS
                    or (not article and abbreviation in ("", "SO")
                        and (first in eng.common or first in eng.all_first_names))
                    or _SCHOOL_ABBR_RE.match(" ".join(words)))

    for m in _SCHOOL_ABBR_RE.finditer(text):
        abbreviation, *words = m.group().split()
        article = words[0].lower() in ("de", "het", "'t", "den")
        # After a school's abbreviation ordinary words are its name ("IBS Al Ikhlas"); "SO" is also a test.
        if named(words[1:] if article else words, article, abbreviation) or m.group()[0].islower():
            yield "SCHOOL", m.start(), m.end()
    for m in _SCHOOL_NOUN_RE.finditer(text):
        if named(m.group(2).split(), bool(m.group(1))):
            yield "SCHOOL", m.start(), m.end()
    for m in _SCHOOL_KIND_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(1)))
        k = 0  # capitalised ordinary words at a sentence start are no part of the name ("Mijn Lyceum")
        while k < len(words) and words[k].group().lower() in eng.common - {"stedelijk", "christelijk"}:
            k += 1
        if k < len(words):
            yield "SCHOOL", m.start(1) + words[k].start(), m.end()
    for m in _SCHOOL_COMPOUND_RE.finditer(text):
        if m.group(1).lower().rstrip("s-") not in _GENERIC_SCHOOLS and m.group(1).lower() not in _GENERIC_SCHOOLS:
            yield "SCHOOL", m.start(), m.end()
