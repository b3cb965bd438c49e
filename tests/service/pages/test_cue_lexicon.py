"""The reviewer page's cue lexicon (api/pages/routes.py cue_lexicon) is built from the model's
own word lists and patterns: every group is present, non-empty and a valid regular expression."""

from __future__ import annotations

import re

from api.pages.routes import cue_lexicon
from triage import cues


def test_every_pattern_group_is_filled_from_the_cue_module():
    groups = cue_lexicon()["patterns"]
    assert set(groups) == {"age", "school_year", "self_aggression", "procedure_word", "minor_context",
                           "childhood_recall"}
    for name, patterns in groups.items():
        assert patterns, f"pattern group '{name}' is empty"
        for pattern in patterns:
            re.compile(pattern)
    assert groups["age"] == [p.pattern for p in cues.CUE_PATTERNS["age"]]
    assert groups["minor_context"] == [cues._MINOR_CONTEXT.pattern]  # the public view is the module's own pattern


def test_every_word_group_is_filled():
    for name, words in cue_lexicon()["words"].items():
        assert words, f"word group '{name}' is empty"
