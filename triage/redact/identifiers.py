"""Detectors for structured identifiers: e-mail, URL, IBAN, BSN, licence plate, full date, phone.
Each takes the (masked) text and yields (type, start, end)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn

from triage.redact.spans import Span
from triage.redact.words import NOT_POSTCODE_LETTERS

def bsn_valid(digits: str) -> bool:
    """The elfproef (python-stdnum), for exactly nine digits: stdnum would also accept
    separators and pad shorter numbers with zeros, which the BSN detector already handles."""
    return digits.isdigit() and len(digits) == 9 and stdnum_bsn.is_valid(digits)


def iban_valid(iban: str) -> bool:
    """ISO 13616 (python-stdnum): mod-97 checksum and the country's length and BBAN format. A
    mistyped IBAN is not one. Without the national check digits (check_country): the IBAN's own
    checksum already tells it from other codes, and a number someone typed with a wrong bank
    account digit is still theirs."""
    s = re.sub(r"\s", "", iban).upper()
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s)) and stdnum_iban.is_valid(s, check_country=False)


_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}(?![\w-])")
_URL_RE = re.compile(
    r"(?i)(?<![\w@./])(?:https?://\S+|www\.\S+|(?:[a-z0-9-]+\.)+(?:com|nl|be|net|org|eu|io|me|tv|app)/\S+)")


def find_emails(text: str) -> Iterable[Span]:
    for m in _EMAIL_RE.finditer(text):
        yield "EMAIL", m.start(), m.end()


def find_urls(text: str) -> Iterable[Span]:
    for m in _URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)'\"":  # sentence punctuation, not URL
            end -= 1
        yield "URL", m.start(), end


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")


def find_ibans(text: str) -> Iterable[Span]:
    pos = 0
    while m := _IBAN_START.search(text, pos):
        # Walk alphanumerics with single spaces; try the ends at group boundaries, longest first.
        i, n, ends = m.end(), 4, []
        while i < len(text) and n < 34:
            if text[i].isascii() and text[i].isalnum():
                n, i = n + 1, i + 1
                if i == len(text) or not (text[i].isascii() and text[i].isalnum()):
                    ends.append(i)
            elif text[i] == " " and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum():
                i += 1
            else:
                break
        end = next((e for e in reversed(ends) if iban_valid(text[m.start():e])), None)
        if end is not None:
            yield "IBAN", m.start(), end
            pos = end
        else:
            pos = m.start() + 1


_BSN_RE = re.compile(r"(?<![\w.,-])(\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}([ .])\d{3}\2\d{3})(?!\w|[.,-]\d)")
_BSN_CONTEXT = re.compile(r"(?i)\b(bsn|burgerservice\s?nummer|sofi\s?nummer|sofi)\b")


def find_bsns(text: str) -> Iterable[Span]:
    for m in _BSN_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        context = bool(_BSN_CONTEXT.search(text, max(0, m.start() - 40), min(len(text), m.end() + 25)))
        # A leading 0 is mostly a phone number (Belgian landline); only with context is it a BSN.
        if (bsn_valid(digits) and (digits[0] != "0" or context)) or context:
            yield "BSN", m.start(1), m.end(1)


# Dutch sidecodes 1-14: L = letters, D = digits.
_SIDECODES = ("LL-DD-DD", "DD-DD-LL", "DD-LL-DD", "LL-DD-LL", "LL-LL-DD", "DD-LL-LL", "DD-LLL-D",
              "D-LLL-DD", "LL-DDD-L", "L-DDD-LL", "LLL-DD-L", "L-DD-LLL", "D-LL-DDD", "DDD-LL-D")


def _plate_re(sep: str, codes: Iterable[str]) -> str:
    def group(g: str) -> str:
        return ("[A-Z]" if g[0] == "L" else r"\d") + "{%d}" % len(g)

    return "|".join(sep.join(group(g) for g in code.split("-")) for code in codes)


# Hyphenated plates in any case for the 3-letter sidecodes ("12-abc-3"); the 2-letter sidecodes in
# lower case look like words ("ma-di-12"), so those and spaced or compact plates need capitals.
# Compact 1234AB is a postcode, not sidecode 2.
_PLATE_RE = re.compile(
    r"(?<![\w-])(?:%s|(?i:%s)|%s|%s)(?![\w]|-\w)" % (
        _plate_re("-", _SIDECODES[:6]), _plate_re("-", _SIDECODES[6:]),
        _plate_re(" ", _SIDECODES), _plate_re("", [c for c in _SIDECODES if c != "DD-DD-LL"])))


def find_plates(text: str) -> Iterable[Span]:
    for m in _PLATE_RE.finditer(text):
        # Spaced capitals in a shouted text: "12 EN 14" is no plate.
        if " " in m.group() and any(g.lower() in NOT_POSTCODE_LETTERS for g in m.group().split()):
            continue
        yield "KENTEKEN", m.start(), m.end()


_MONTHS = (r"januari|jan|februari|feb|febr|maart|mrt|mar|april|apr|mei|juni|jun|juli|jul|augustus|aug|"
           r"september|sept|sep|oktober|okt|oct|november|nov|december|dec")
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_RE = re.compile(
    rf"(?<![\w/.-])(?:{_DAY}([-/.]){_MONTH}\1(?:(?:19|20)\d{{2}}|\d{{2}})"  # 12-03-2009, 12/3/09
    rf"|(?:19|20)\d{{2}}([-/.]){_MONTH}\2{_DAY}"  # 2009-03-12
    rf"|(?i:{_DAY}(?:e|ste|de)?[ -]?(?:{_MONTHS})\.?[ -](?:(?:19|20)\d{{2}}|['’`]\d{{2}})))"  # 12 maart 2009
    r"(?!\d|[-/.]\d)")


def find_dates(text: str) -> Iterable[Span]:
    for m in _DATE_RE.finditer(text):
        yield "GEBOORTEDATUM", m.start(), m.end()


_PHONE_START = re.compile(r"(?<![\w+/.,-])(?:\+|\(0|0)(?=\d|\s?\d)")
_PHONE_CHARS = set("0123456789 -./()")
_SERVICE = ("0800", "0900", "0906", "0909")  # public service numbers, not personal


def _phone_ok(digits: str, plus: bool) -> bool:
    if plus or digits.startswith("00"):
        d = digits if plus else digits[2:]
        if d.startswith("31"):
            nsn = d[2:].removeprefix("0")  # "+31 (0)6 ..."
            return len(nsn) == 9
        if d.startswith("32"):
            return len(d[2:].removeprefix("0")) in (8, 9)
        return 8 <= len(d) <= 15
    return digits.startswith("0") and len(digits) in (9, 10) and not digits.startswith(_SERVICE)


def find_phones(text: str) -> Iterable[Span]:
    pos = 0
    while m := _PHONE_START.search(text, pos):
        start, plus = m.start(), text[m.start()] == "+"
        i, digits, best, seps = start + (1 if plus else 0), "", None, 0
        while i < len(text) and text[i] in _PHONE_CHARS:
            c = text[i]
            if c.isdigit():
                digits, seps = digits + c, 0
                at_boundary = i + 1 == len(text) or not text[i + 1].isdigit()
                if at_boundary and _phone_ok(digits, plus) and not (i + 1 < len(text) and text[i + 1].isalpha()):
                    best = i + 1
            else:
                seps += 1
                if seps > 3 or len(digits) > 15:  # " - " is three
                    break
            i += 1
        if best is not None:
            yield "TELEFOON", start, best
            pos = best
        else:
            pos = start + 1
