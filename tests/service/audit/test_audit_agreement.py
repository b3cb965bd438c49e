"""Agreement measures and the gold-label rule (api/audit/agreement.py), against textbook examples."""

from __future__ import annotations

import pytest

from api.audit.agreement import agreement, cohen_kappa, fleiss_kappa, head_agreement, percent_agreement, resolve_gold

# Fleiss (1971), the worked example also on Wikipedia ("Fleiss' kappa"): 10 subjects, 14 raters
# each, 5 categories; counts per category. P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def _items(table):
    return [[category for category, n in enumerate(row) for _ in range(n)] for row in table]


def test_fleiss_kappa_textbook_example():
    items = _items(FLEISS_TABLE)
    assert percent_agreement(items) == pytest.approx(0.378, abs=5e-4)
    assert fleiss_kappa(items) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_with_unequal_raters_matches_a_hand_computation():
    # Item 1: 3 raters a,a,b; item 2: 2 raters a,a; item 3: 4 raters b,b,b,a.
    items = [["a", "a", "b"], ["a", "a"], ["b", "b", "b", "a"]]
    p_a = (2 / 6 + 2 / 2 + 6 / 12) / 3
    pi_a = (2 / 3 + 1 + 1 / 4) / 3
    pi_b = (1 / 3 + 0 + 3 / 4) / 3
    p_e = pi_a ** 2 + pi_b ** 2
    assert fleiss_kappa(items) == pytest.approx((p_a - p_e) / (1 - p_e))
    assert percent_agreement(items) == pytest.approx(p_a)


def test_cohen_kappa_textbook_example():
    # Wikipedia "Cohen's kappa": 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None, "undefined when chance agreement is 1"


def test_head_agreement_picks_cohen_for_two_reviewers_and_fleiss_for_more():
    two = {1: {"A": "acute", "B": "acute"}, 2: {"A": "high", "B": "normal"}, 3: {"A": "low", "B": "low"},
           4: {"A": "high"}}  # one review only: left out
    result = head_agreement(two)
    assert result["method"] == "cohen" and result["records"] == 3 and result["reviewers"] == 2
    assert result["percent_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["kappa"] == pytest.approx(cohen_kappa(["acute", "high", "low"], ["acute", "normal", "low"]), abs=1e-4)
    three = {1: {"A": "x", "B": "x", "C": "y"}, 2: {"A": "y", "C": "y"}}
    result = head_agreement(three)
    assert result["method"] == "fleiss" and result["reviewers"] == 3
    assert result["kappa"] == pytest.approx(fleiss_kappa([["x", "x", "y"], ["y", "y"]]), abs=1e-4)
    assert head_agreement({1: {"A": "x"}})["kappa"] is None


def _review(role="victim", minor=False, urgency="high", topics=("physical",)):
    return {"role": role, "minor": minor, "urgency": urgency, "topics": list(topics)}


def test_gold_rule():
    one = resolve_gold([_review()])
    assert one["resolved"] and (one["role"], one["minor"], one["urgency"], one["topics"]) == \
        ("victim", False, "high", ["physical"])
    # role and minor ties stay unresolved; an urgency tie goes to the more urgent label
    tie = resolve_gold([_review(role="victim", urgency="normal"), _review(role="bystander", urgency="acute")])
    assert tie["role"] is None and tie["urgency"] == "acute" and not tie["resolved"]
    assert tie["votes"]["role"] == {"victim": 1, "bystander": 1}
    minor_tie = resolve_gold([_review(minor=True), _review(minor=False)])
    assert minor_tie["minor"] is None and not minor_tie["resolved"]
    majority = resolve_gold([_review(role="victim"), _review(role="bystander"), _review(role="victim")])
    assert majority["role"] == "victim" and majority["resolved"]
    # topics: per topic, in the gold set when at least half of the reviews include it
    topics = resolve_gold([_review(topics=["physical", "sexual"]), _review(topics=["physical"]),
                           _review(topics=["stalking"])])
    assert topics["topics"] == ["physical"]
    assert resolve_gold([_review(topics=["physical"]), _review(topics=[])])["topics"] == ["physical"]
    assert resolve_gold([])["resolved"] is False


def test_agreement_over_review_rows_includes_topics():
    rows = [
        {"record_id": 1, "reviewer": "A", **_review(topics=["physical"])},
        {"record_id": 1, "reviewer": "B", **_review(topics=["physical", "sexual"])},
        {"record_id": 2, "reviewer": "A", **_review(role="bystander")},
        {"record_id": 2, "reviewer": "B", **_review(role="victim")},
    ]
    result = agreement(rows)
    assert result["role"]["percent_agreement"] == 0.5 and result["minor"]["percent_agreement"] == 1.0
    assert result["topics"]["records"] == 2 and result["topics"]["unit"] == "record x topic"
    assert result["topics"]["percent_agreement"] == pytest.approx(23 / 24, abs=1e-4)
