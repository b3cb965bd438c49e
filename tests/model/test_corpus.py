"""The seed corpus and the challenge set meet what the data card promises."""

from collections import Counter

import pytest

from training.data import load_challenge, load_seed
from training.dedup import normalise, similar_pairs
from triage.labels import ROLES, URGENCIES

# Role x urgency cells that cannot occur: an `unknown` writer describing concrete danger is
# someone whose role can be told (docs/annotation-guide.md).
IMPOSSIBLE = {("unknown", "acute"), ("unknown", "high")}


@pytest.fixture(scope="module")
def seed():
    return load_seed()


@pytest.fixture(scope="module")
def challenge():
    return load_challenge()


def test_size_and_cells(seed):
    assert len(seed) >= 2500
    cells = Counter((e.role, e.urgency) for e in seed)
    for role in ROLES:
        for urgency in URGENCIES:
            if (role, urgency) in IMPOSSIBLE:
                assert cells[(role, urgency)] == 0
            else:
                assert cells[(role, urgency)] >= 40, (role, urgency, cells[(role, urgency)])


def test_minors_share(seed):
    assert sum(e.minor for e in seed) / len(seed) >= 0.15


def test_ids_unique(seed, challenge):
    ids = [e.id for e in seed] + [e.id for e in challenge]
    assert len(ids) == len(set(ids))


def test_split_is_stratified_and_disjoint(seed):
    test = [e for e in seed if e.split == "test"]
    assert 0.18 <= len(test) / len(seed) <= 0.22
    by_cell = Counter((e.role, e.urgency) for e in test)
    for role in ROLES:
        for urgency in URGENCIES:
            if (role, urgency) not in IMPOSSIBLE:
                assert by_cell[(role, urgency)] >= 5


def test_no_exact_or_near_duplicates_across_split(seed):
    train = [e.text for e in seed if e.split == "train"]
    test = [e.text for e in seed if e.split == "test"]
    assert similar_pairs(test, train) == []


def test_challenge_set_is_separate(seed, challenge):
    assert len(challenge) >= 300
    assert similar_pairs([e.text for e in challenge], [e.text for e in seed]) == []
    seed_texts = {normalise(e.text) for e in seed}
    assert not any(normalise(e.text) in seed_texts for e in challenge)


def test_challenge_personas_distinct():
    import json

    from training.data import CHALLENGE

    personas = [json.loads(l)["persona"] for l in CHALLENGE.read_text(encoding="utf-8").splitlines() if l.strip()]
    assert len(personas) == len(set(personas))


def test_near_duplicate_detector_finds_near_copies():
    pairs = similar_pairs(["mijn man slaat mij elke dag en ik ben bang",
                           "Mijn man slaat mij elke dag, en ik ben bang!",
                           "hoe werkt een melding bij jullie"])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_data_card_counts_are_current():
    from training.datacard import CARD, generated

    assert generated() in CARD.read_text(encoding="utf-8"), "run: python -m training.datacard"
