"""Training data is validated line by line before anything is trained."""

import json

import pytest

from training.schema import DataError, load_labelled

GOOD = {"text": "hij slaat me", "role": "victim", "minor": False, "urgency": "high", "topics": ["physical"]}


def write(tmp_path, lines, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n", encoding="utf-8")
    return path


def problems(tmp_path, lines):
    with pytest.raises(DataError) as info:
        load_labelled([write(tmp_path, lines)])
    return info.value.errors


def test_good_file_loads(tmp_path):
    records = load_labelled([write(tmp_path, [GOOD, dict(GOOD, minor=True, topics=[])])])
    assert [r.minor for r in records] == [False, True]


@pytest.mark.parametrize("change,field,fragment", [
    ({"urgency": "urgent"}, "urgency", "'acute', 'high', 'normal' or 'low'"),
    ({"role": "slachtoffer"}, "role", "victim"),
    ({"minor": "yes"}, "minor", "true or false"),
    ({"minor": 1}, "minor", "true or false"),
    ({"text": ""}, "text", "at least 1 character"),
    ({"text": "   "}, "text", "white space"),
    ({"text": "x" * 5001}, "text", "limit is 5000"),
    ({"topics": ["violence"]}, "topics.0", "physical"),
    ({"topics": ["physical", "physical"]}, "topics", "twice"),
])
def test_bad_field_named_with_line(tmp_path, change, field, fragment):
    errors = problems(tmp_path, [GOOD, dict(GOOD, **change)])
    assert len(errors) == 1
    assert errors[0].line == 2
    assert errors[0].field == field
    assert fragment in errors[0].message


def test_missing_field(tmp_path):
    bad = {k: v for k, v in GOOD.items() if k != "urgency"}
    (error,) = problems(tmp_path, [bad])
    assert (error.line, error.field, error.message) == (1, "urgency", "is required")


def test_invalid_json_and_non_objects(tmp_path):
    errors = problems(tmp_path, ['{"text": "hoi",', "[1, 2]", GOOD])
    assert [(e.line, e.field) for e in errors] == [(1, "(line)"), (2, "(line)")]
    assert "not valid JSON" in errors[0].message


def test_all_problems_reported_across_files(tmp_path):
    a = write(tmp_path, [dict(GOOD, role="x")], "a.jsonl")
    b = write(tmp_path, [GOOD, dict(GOOD, urgency="x")], "b.jsonl")
    with pytest.raises(DataError) as info:
        load_labelled([a, b, tmp_path / "missing.jsonl"])
    text = str(info.value)
    assert "a.jsonl:1: field 'role'" in text
    assert "b.jsonl:2: field 'urgency'" in text
    assert "missing.jsonl" in text and "does not exist" in text
