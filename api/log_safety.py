"""Log lines that no input can forge.

Request data (a path, a method, an advisor's name) may hold line breaks, terminal escapes or
Unicode that reorders or hides text (`GET /x%0A2026-01-01 ... INFO forged`). Every value put into
a log message is escaped here, so one log record is always one line and shows what was sent:
control characters (C0, C1), line and paragraph separators and invisible format characters
(bidi overrides, zero-width) become `\\xNN` / `\\uNNNN`, a backslash becomes `\\\\`, and long values
are cut. `SafeFormatter` applies this to the arguments of every record of the service's loggers
(server.py), so a log call that forgets it is still safe; `Verbatim` marks the rare argument
that is the service's own multi-line text (a stack without exception messages)."""

from __future__ import annotations

import logging
import unicodedata

MAX_LOGGED_CHARS = 300


class Verbatim(str):
    """A log argument written as is: the service's own text, never request data."""


def _escape_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    # Cc: control characters (C0, DEL, C1); Cf: format (bidi, zero width); Zl/Zp: line/paragraph separators.
    return char == "\\" or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def escape(value: object, limit: int = MAX_LOGGED_CHARS) -> str:
    """`value` as one printable line, at most `limit` characters of the original (then `...`)."""
    text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    if not (text.isascii() and text.isprintable() and "\\" not in text):
        text = "".join(_escape_char(c) if _unsafe(c) else c for c in text)
    return text + "..." if cut else text


def _safe_arg(value: object) -> object:
    if isinstance(value, Verbatim) or isinstance(value, (int, float, bool)) or value is None:
        return value
    return escape(value)


class SafeFormatter(logging.Formatter):
    """A Formatter that escapes every argument of a record before it is merged into the message."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if args:
            record = logging.makeLogRecord(record.__dict__)
            if isinstance(args, dict):
                record.args = {k: _safe_arg(v) for k, v in args.items()}
            else:
                record.args = tuple(_safe_arg(v) for v in args)
        elif not isinstance(record.msg, str):
            record = logging.makeLogRecord(record.__dict__)
            record.msg = escape(record.msg)
        return super().format(record)
