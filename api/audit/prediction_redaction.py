"""Redaction of what an audit record stores: the chat text, everything the prediction quotes from
it (red flags' text and offsets, explanation features, the Dutch summary) and free text such as
override reasons and review notes. Nothing here logs text."""

from __future__ import annotations

import logging
import re
from collections import Counter


def load_redaction() -> None:
    """Load the redaction engine once per process (several seconds), at start-up rather than on the
    first chat. The engine raises the root logger's level while it loads; that is set back."""
    from triage.redact import load

    root = logging.getLogger()
    level = root.level
    try:
        load()
    finally:
        root.setLevel(level)


def redact_text(text: str | None) -> str | None:
    """Free text (override reasons, review notes) with personal data replaced."""
    if text is None:
        return None
    from triage.redact import redact

    return redact(text).text


class _OffsetMap:
    """Maps character offsets in the raw text to offsets in the redacted text."""

    def __init__(self, raw: str, redacted: str, spans: list[tuple[str, int, int]]):
        self.pieces = []  # (raw start, raw end, redacted start, redacted end)
        shift = 0
        rebuilt, pos = [], 0
        for kind, start, end in sorted(spans, key=lambda s: s[1]):
            placeholder = f"[{kind}]"
            rebuilt += [raw[pos:start], placeholder]
            self.pieces.append((start, end, start + shift, start + shift + len(placeholder)))
            shift += len(placeholder) - (end - start)
            pos = end
        rebuilt.append(raw[pos:])
        self.valid = "".join(rebuilt) == redacted  # the redaction's contract, checked

    def start(self, offset: int) -> int:
        shift = 0
        for raw_start, raw_end, red_start, red_end in self.pieces:
            if offset < raw_start:
                break
            if offset < raw_end:
                return red_start
            shift = red_end - raw_end
        return offset + shift

    def end(self, offset: int) -> int:
        shift = 0
        for raw_start, raw_end, red_start, red_end in self.pieces:
            if offset <= raw_start:
                break
            if offset <= raw_end:
                return red_end
            shift = red_end - raw_end
        return offset + shift


def redact_prediction(text: str, prediction: dict, redaction=None) -> tuple[str, dict, dict[str, int]]:
    """(redacted text, the prediction with everything quoted from the text redacted, counts of
    placeholders per type). `redaction`: redact(text), when the caller has made it already."""
    from triage.explain import summary_nl
    from triage.redact import redact

    redaction = redaction if redaction is not None else redact(text)
    redacted = redaction.text
    spans = list(redaction.spans)
    counts = dict(Counter(kind for kind, _, _ in spans))
    offsets = _OffsetMap(text, redacted, spans)

    flags = []
    for flag in prediction.get("red_flags", []):
        flag = dict(flag)
        if offsets.valid and isinstance(flag.get("start_char"), int) and isinstance(flag.get("end_char"), int):
            start, end = offsets.start(flag["start_char"]), offsets.end(flag["end_char"])
            flag.update(text=redacted[start:end], start_char=start, end_char=end)
        else:
            flag.update(text=redact(str(flag.get("text", ""))).text, start_char=None, end_char=None)
        flags.append(flag)

    values = [(kind, text[start:end].lower()) for kind, start, end in spans]
    words = {w: kind for kind, value in values for w in re.findall(r"\w+", value)}
    explanation = dict(prediction.get("explanation", {}))
    for head, items in list(explanation.items()):
        if isinstance(items, list) and items and isinstance(items[0], dict) and "feature" in items[0]:
            explanation[head] = [_redact_feature(item, values, words) for item in items]
    out = {**prediction, "red_flags": flags, "explanation": explanation}
    try:
        explanation["summary_nl"] = summary_nl(out)
    except (KeyError, TypeError, ValueError):  # a prediction without the fields: redact the sentence
        explanation["summary_nl"] = redact(str(explanation.get("summary_nl", ""))).text
    return redacted, out, counts


def _redact_feature(item: dict, values: list[tuple[str, str]], words: dict[str, str]) -> dict:
    """A word, lemma or character n-gram feature that matches a redacted value would reveal it."""
    block, _, name = str(item.get("feature", "")).partition("__")
    kind = None
    if block in ("word", "lemma"):
        kind = next((words[w] for w in name.lower().split() if w in words), None)
    elif block == "char":
        gram = name.strip().lower()
        if len(gram) >= 2:
            kind = next((k for k, value in values if gram in value), None)
    if kind is None:
        return item
    return {**item, "feature": f"{block}__[{kind}]", "description_nl": f'"[{kind}]"'}
