"""Redaction of personal data in chat text, before anything is stored.

`redact(text)` replaces personal data with typed placeholders and returns the redacted text plus
the spans (type, start, end) in the ORIGINAL text; the original values are never kept.

How each type is found (detectors run in this order; a later one never touches what an earlier
one took, so e.g. the digits of a date are not read again as a phone number):

- EMAIL, URL: regexes. A bare domain ("bol.com") is an organisation, not personal: only a URL with
  a scheme, "www." or a path is replaced.
- IBAN: regex + python-stdnum's check (mod-97 checksum, the country's length and format). A
  mistyped IBAN is not replaced: the checksum is what tells an IBAN from any other code.
- BSN: 9 digits (also 1234.56.789 / 123 456 789) passing the elfproef. Where the elfproef cannot
  decide (a typo), a nearby "bsn" / "burgerservicenummer" / "sofinummer" still marks it.
- KENTEKEN: the Dutch sidecodes 1-14 (e.g. 12-ABC-3, AB-123-C, 1-ABC-23, XX-99-XX).
- GEBOORTEDATUM: every FULL date (day, month and year: 12-03-2009, 12/3/09, 12 maart 2009,
  2009-03-12). A chat cannot tell a birth date from another full date, and a full date is an
  identifier either way, so all are replaced. A day without a year ("op 12 maart") is kept: it
  carries the timing the red-flag cues need and identifies nobody on its own.
- TELEFOON: Dutch and Belgian numbers in any common notation (06-12345678, +31 6 1234 5678,
  020-1234567, +32 470 12 34 56, 0486/12.34.56) and other +/00 international numbers. Public
  service numbers (0800/0900: "0800-2000", "0900-8844") and 112 are kept.
- POSTCODE: Dutch 1234 AB (space optional, any case; "2009 en" is not one) and a Belgian 4-digit
  code followed by a known place name or after the word "postcode". The place itself is kept.
- ADRES: street + house number: a word ending in a street suffix (Kerkstraat 12a), prefix forms
  (Laan van Meerdervoort 150) and deduce's Dutch street list (Lange Voorhout 5). A street without
  a number and a city alone are not an address (thousands of people share them) and are kept.
- NAAM: deduce (Dutch de-identification, tuned for medical text) for capitalised names, plus chat
  rules deduce lacks: a first name after a relation word ("mn vriend Ahmed", "mijn zus fatima"),
  after "ik ben" / "ik heet" / a greeting / a title, or before a verb ("fatima zei"). Lower-case
  names are only taken in such a context, and only when they are in deduce's first-name list and
  not a common word. Social handles (@name) are names too. Surname particles belong to the name:
  between two names ("Rachid al Hassan", "Karim ben Ali" are one [NAAM]), and in front of one
  when they are no Dutch word in lower case ("de familie el Amrani", "meneer ait Said", "youssef el
  amrani") or start it capitalised ("El Amrani", "Van der Berg"); Dutch words before a name stay
  ("de vader van [NAAM]").
- SCHOOL: a school's name (with the class it finds the child): an abbreviation of the school kind
  with the name after it (OBS, CBS, PCBS, RKBS, KBS, IBS, GBS, SBO, SO, VSO, IKC: "OBS De
  Regenboog", "obs de regenboog"), "basisschool / daltonschool / ... De Klimop", capitalised
  words before College, Lyceum, Gymnasium, Atheneum ("het Erasmus College", "Christelijk Lyceum
  Zeist") and compounds ("Vossiuscollege", "Regenboogschool"). The kind alone ("op de
  basisschool", "het CBS", "een SO Engels", "de Montessorischool") is kept.

Not personal data, and kept: common words capitalised at a sentence start, weekdays, months,
cities and regions alone, organisations ("Veilig Thuis", "Kindertelefoon", "Jeugdzorg"), ages
("ik ben 14"), times, amounts, "groep 8", "112".

deduce is loaded once (about 3 s; on a fresh install it first builds its lookup cache, about a
minute) and its calls are serialised by a lock, so `redact` is safe to call from threads. It is
given the text a sentence (at most ~200 characters) at a time: its name context grows worse than
linearly on long runs of names. About 0.5 ms per opener.
"""

from triage.redact.engine import load
from triage.redact.identifiers import bsn_valid, iban_valid
from triage.redact.redactor import redact
from triage.redact.spans import PII_TYPES, PLACEHOLDERS, Redaction, Span

__all__ = ["PII_TYPES", "PLACEHOLDERS", "Redaction", "Span", "bsn_valid", "iban_valid", "load", "redact"]
