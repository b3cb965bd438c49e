"""The redaction's types: placeholders, spans, the result, and the mask detectors share."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PLACEHOLDERS = {t: f"[{t}]" for t in (
    "NAAM", "TELEFOON", "EMAIL", "ADRES", "POSTCODE", "BSN", "IBAN", "GEBOORTEDATUM", "KENTEKEN", "URL", "SCHOOL")}
PII_TYPES = tuple(PLACEHOLDERS)

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Redaction:
    text: str
    spans: list[Span]  # (type, start, end) in the original text, sorted by start


Detector = Callable[[str], Iterable[Span]]
MASK = "\x00"  # replaces what an earlier detector took: no detector matches it

PLACEHOLDER_RE = re.compile(r"\[(?:%s)\]" % "|".join(PII_TYPES))


def mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = MASK * (e - s)
    return "".join(chars)


def free(taken: list[Span], s: int, e: int) -> bool:
    return all(e <= ts or s >= te for _, ts, te in taken)
