"""Client text as it is validated, stored and triaged: one normal form for every entry point.

Chat platforms pass on whatever the client's keyboard produced. Characters nobody sees (zero-width
spaces and joiners, bidirectional controls, NUL and other control characters) can hide an empty
message, split a word so the model no longer recognises it, or break a database driver. So text
is brought to Unicode NFC (a composed "é" and "e" + combining accent are the same word) and
control (Cc), format (Cf) and surrogate (Cs) characters are removed, except ordinary newlines and
tabs; a carriage return becomes a newline. Then `is_blank` says whether anything visible is left.

Pure functions of the text; no web or database imports (the API validates with them, see
api/schemas.py).
"""

from __future__ import annotations

import unicodedata

_KEEP = frozenset("\n\t")
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# Letters and symbols that render as nothing (fillers): they do not make a text non-blank.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
_VISIBLE_CLASSES = frozenset("LNPS")  # letters, numbers, punctuation, symbols (emoji are symbols)


def normalize_text(text: str) -> str:
    """NFC, CR/CRLF to LF, without control, format and lone surrogate characters (but \\n, \\t)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    elif text.isprintable():
        return text  # the common case: plain ASCII without control characters
    return "".join(c for c in text if c in _KEEP or unicodedata.category(c) not in _REMOVED_CATEGORIES)


def is_blank(text: str) -> bool:
    """True when the text has no visible character: only white space, fillers or combining marks."""
    return not any(unicodedata.category(c)[0] in _VISIBLE_CLASSES and c not in _INVISIBLE for c in text)
