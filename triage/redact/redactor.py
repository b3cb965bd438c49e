"""`redact`: runs the detectors in priority order over a progressively masked text."""

from __future__ import annotations

from triage.redact.engine import engine
from triage.redact.identifiers import find_bsns, find_dates, find_emails, find_ibans, find_phones, find_plates, \
    find_urls
from triage.redact.names import absorb_particles, deduce_spans, find_handles, find_names, merge_names
from triage.redact.places import find_addresses, find_postcodes, find_schools
from triage.redact.spans import PLACEHOLDER_RE, PLACEHOLDERS, Detector, Redaction, Span, free, mask

# Order = priority: structured identifiers first so their digits are not re-read.
DETECTORS: tuple[Detector, ...] = (find_emails, find_urls, find_ibans, find_bsns, find_plates, find_dates,
                                   find_phones, find_postcodes, find_addresses, find_schools, find_handles,
                                   find_names)


def redact(text: str) -> Redaction:
    """Replace personal data in `text` with typed placeholders such as [NAAM] and [TELEFOON]."""
    eng = engine()
    protected = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]  # idempotence
    taken: list[Span] = []
    masked = mask(text, protected)
    blocked = [("", s, e) for s, e in protected]
    # deduce sees the original text (its context needs the words) and only fills what is left.
    from_deduce = list(deduce_spans(text, eng))
    for detect in DETECTORS:
        # Leftmost-longest wins within a detector; deduce's streets come after the address regexes.
        found = sorted(set(detect(masked)), key=lambda sp: (sp[1], -(sp[2] - sp[1])))
        if detect is find_addresses:
            found += [sp for sp in from_deduce if sp[0] == "ADRES"]
        if detect is find_names:
            found += [sp for sp in from_deduce if sp[0] == "NAAM"]
        new: list[Span] = []
        for sp in found:
            # Name spans may overlap each other (merged below), other types may not.
            if sp[2] > sp[1] and free(taken + blocked, sp[1], sp[2]) and (
                    detect is find_names or free(new, sp[1], sp[2])):
                new.append(sp)
        if detect is find_names:
            new = merge_names(new)  # unions of free overlapping spans are free
            new = absorb_particles(text, new, taken + blocked)
        taken += new
        masked = mask(masked, [(s, e) for _, s, e in new])
    taken.sort(key=lambda sp: sp[1])
    out, pos = [], 0
    for kind, s, e in taken:
        out += [text[pos:s], PLACEHOLDERS[kind]]
        pos = e
    out.append(text[pos:])
    return Redaction(text="".join(out), spans=taken)
