"""triage.normalize: the one normal form of client text (issue 13, item 10)."""

from triage.normalize import is_blank, normalize_text


def test_invisible_and_control_characters_are_removed():
    assert normalize_text("ik\u200bben\u2060 bang\x00\u00ad\ufeff\u202e") == "ikben bang"
    assert normalize_text("\ud800hoi\udfff") == "hoi"  # lone surrogates (valid JSON escapes) cannot be stored
    assert normalize_text("\x01\x1b[31m\x7f\x85rood") == "[31mrood"


def test_newlines_and_tabs_stay_and_carriage_returns_become_newlines():
    assert normalize_text("a\r\nb\rc\nd\te") == "a\nb\nc\nd\te"


def test_nfc():
    assert normalize_text("cafe\u0301") == "caf\u00e9"
    assert normalize_text("ﬁets") == "ﬁets", "NFC, not NFKC: compatibility characters are kept"


def test_plain_text_is_unchanged():
    text = "Mijn vader slaat mij, wat moet ik doen? 🙂 Ik ben 14."
    assert normalize_text(text) == text


def test_blank_means_nothing_visible():
    for text in ("", "  \n\t", "\u3164\u115f", "\u0301\u0301", "\u2800"):
        assert is_blank(normalize_text(text)), repr(text)
    for text in ("?", "🙂", "1", "é", "a\u200b"):
        assert not is_blank(normalize_text(text)), repr(text)
